"""Sessions and runs: protocol v1 with the IDE on one side, the scheduler's interfaces on the other.

Depends only on scheduler.interface and scheduler.errors (tests/test_layers.py checks it).
"""
