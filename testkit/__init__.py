"""What tests and benchmarks share: a real pyplay service on loopback (``service``), a
protocol v1 client that runs a program and collects what the IDE would see (``client``),
an RFB client that watches a display (``rfb``), a plain WebSocket-to-RFB relay
(``websocket_relay``), waiting for a condition with a deadline instead of sleeping
(``waiting``) and reading `runsc list` (``runsc``).  Both ``tests/`` and ``bench/`` import
from here; nothing here imports from either.
"""
