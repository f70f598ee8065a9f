"""Thin entry points: Bolt listeners per Slack surface and the plain HTTP endpoints."""
