"""Tests of the service application: the front door (origin, tokens), HTTP endpoints and metrics, cleanup on shutdown."""
