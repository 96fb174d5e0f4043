"""Tests of proxy/: the protocol, the session lease, tokens; pure where they can be, else through a real service."""
