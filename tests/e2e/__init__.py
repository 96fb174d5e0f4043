"""Whole-service end-to-end tests through real gVisor that belong to no one module: the
terminal, the display, resume, real programs."""
