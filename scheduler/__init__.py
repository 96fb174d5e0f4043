"""Making and ending sandboxes: warm pools, admission, the local runsc scheduler and the Nomad one.

What the proxy may use is in interface.py and errors.py; everything else is this layer's own.
"""
