"""A sandbox's pid 1: ``python -m sandbox --listen ... --mode ...`` (arguments: sandbox/agent.py).

The zygote is launched before the agent module is imported, so the two start-ups overlap.
"""
import sys

from sandbox import early

early.refuse_the_students_uid(sys.argv)
zygote = early.launch_zygote(early.option(sys.argv, "--mode", "python"))

from sandbox import agent  # noqa: E402 - only once the zygote is on its way

agent.main(zygote)
