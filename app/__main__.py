"""``python -m app``: the control service, as ``make run`` and the container start it."""
from app.server import main

main()
