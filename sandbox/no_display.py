"""Python mode has no display, and says so when a program asks for one.

A pygame, turtle or tkinter program run with Mode "Python" connects to ``$DISPLAY``.  This
listener stands where that X server would be: it closes each connection (the toolkit then
fails as it would on a machine with no X server) and tells the agent, which writes one
clear line into the student's terminal instead of a wall of SDL and ALSA noise.
"""
import asyncio
from typing import Callable, Dict

DISPLAY_NUMBER = 0
ABSTRACT_SOCKET = f"\0/tmp/.X11-unix/X{DISPLAY_NUMBER}"
NOTICE = (b"\r\n\x1b[33mpyplay: this program opens a window, but Mode is \"Python\", which has no "
          b"display. Choose Auto (or Pygame/Turtle) and press Run again.\x1b[0m\r\n")


def environment() -> Dict[str, str]:
    """What a python-mode program sees: a display to ask for, SDL held to it (else it falls
    back to a windowless driver and the game runs unseen), and SDL kept quiet about sound."""
    return {"DISPLAY": f":{DISPLAY_NUMBER}", "SDL_VIDEODRIVER": "x11", "SDL_AUDIODRIVER": "dummy"}


async def listen(on_request: Callable[[], None]) -> asyncio.AbstractServer:
    """Listen where display :0 is looked for first, ``on_request()`` per connection.

    An abstract socket (libxcb tries ``@/tmp/.X11-unix/X0`` before the file): nothing is
    made in /tmp, which must be empty at the start of every run."""
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        on_request()
        writer.close()

    return await asyncio.start_unix_server(refuse, ABSTRACT_SOCKET)
