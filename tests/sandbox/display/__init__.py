"""Display tests: the RFB test client, sandbox/display.py and sandbox/preload.py, host Xvnc and real gVisor."""
