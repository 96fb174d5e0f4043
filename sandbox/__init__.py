"""What runs inside one isolated sandbox: the agent, the launcher, and the wire protocol.

Everything in this package must run on the sandbox's Python 3.10 with only the
standard library (ptyprocess stays installed, but the agent opens PTYs itself now:
its launchers are forks, not execs): it is mounted read-only into every sandbox.
"""
