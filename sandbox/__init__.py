"""Local stand-ins for Slack (a fake Web API server and a request driver) used by tests and the sandbox UI."""
