"""Offline tooling around the Pulumi program: the plan, the diff, the benchmark."""
