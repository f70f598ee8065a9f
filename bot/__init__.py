"""Heard's core: configuration, the complaint lifecycle, use cases, Block Kit and delivery to Slack."""
