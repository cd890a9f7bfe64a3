"""Pure renderers: Settings in, configuration text out. No Pulumi imports here."""
