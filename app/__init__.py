"""The application: the control service on :8000 that wires the proxy to a scheduler.

It is the only layer that knows both: ``app/server.py`` makes the Sanic app, its routes
and its shutdown; ``front_door.py`` checks every upgrade; ``rest.py`` is the operators'
REST over the live runs; ``metrics.py`` renders /metrics.
"""
