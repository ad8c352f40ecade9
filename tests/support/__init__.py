"""Helpers shared by the test directories: events, distributions, clients, the local server."""
