"""Tests of the service application: the front door (Origin, tokens, per-client limits),
HTTP endpoints and metrics, cleanup on shutdown."""
