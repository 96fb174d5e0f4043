"""Tests of sandbox/ and what a sandbox guarantees: isolation, limits, the reset between
runs, hostile programs (hostile/) and the display (display/)."""
