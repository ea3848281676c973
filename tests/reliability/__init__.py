"""Reliability suite: the real CLI as a subprocess against the sandbox, under faults."""
