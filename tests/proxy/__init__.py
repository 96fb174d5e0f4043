"""Tests of proxy/: the protocol (and its fuzzing), the session lease, tokens; pure where
they can be, else through a real service."""
