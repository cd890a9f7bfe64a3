"""bluemind-ha: `pulumi up` declares a two-node active/passive BlueMind cluster (see README.md)."""
from components.program import main

main()
