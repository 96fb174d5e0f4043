"""Tests of sandbox/ and what a sandbox guarantees: isolation, limits, the reset between runs, hostile programs, the display."""
