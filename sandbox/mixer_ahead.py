"""pygame.init() and pygame's sound device, done by the warm launcher before the claim.

Opening the sound device is most of what ``pygame.init()`` costs in a pygame sandbox: SDL
connects to the sandbox's PulseAudio and sets up a stream, 10-25 ms in gVisor where SDL's
dummy driver takes ~2 ms; the joysticks and the rest take ~10 ms more.  Done ahead, with
pygame's defaults, the device stands for the one the program's first ``pygame.init()`` or
``pygame.mixer.init()`` would open, so a program that never asks for anything else pays
nothing for having sound (its pygame.init() takes under a millisecond).  Until that first
opening, a program that does ask otherwise (``pre_init`` or ``init`` with other settings, or
another ``SDL_AUDIODRIVER``) has the early device closed first, and its own opening gets what
it asked for, as on a desktop.

sandbox/launcher.py runs this file by path (stdlib only), so nothing of it is importable
by the program.
"""
from __future__ import annotations

import ctypes
import functools
import os

TYPE_CHECKING = False   # as in launcher.py: no typing import at run time
if TYPE_CHECKING:
    import types
    from typing import Any, Callable
    Args = tuple[Any, ...]
    Kwargs = dict[str, Any]

SETTINGS = ("frequency", "size", "channels", "buffer", "devicename", "allowedchanges")
# What get_init() reports back, so what a program can tell apart.  The buffer only sets
# the device's latency: a program asking a bigger one still gets pygame's default 512.
TOLD_APART = ("frequency", "size", "channels")
SDL_AUDIO_PLAYING = 1
DEVICES_TRIED = 4     # SDL numbers opened devices from 2 (1 is its legacy API's): ours is the first


def open_ahead(pygame: types.ModuleType) -> Callable[[], None]:
    """pygame.init() (the device with pygame's defaults among the rest), the device stood in
    for the program's first opening, and its audio thread held until the returned function is
    called (at "go").  Best effort: a module that cannot start now (pygame.init() counts it, it
    does not raise) is started by the program's own pygame.init(), which reports as it would."""
    mixer = getattr(pygame, "mixer", None)
    if mixer is None or mixer.get_init():
        return _nothing
    driver = os.environ.get("SDL_AUDIODRIVER")
    pygame.init()   # the rest of what the program's pygame.init() would start too (joysticks: ~4 ms)
    if not mixer.get_init():
        return _nothing
    _StandIn(pygame, driver, mixer.get_init()).install()
    return _hold_audio_thread()


def _nothing() -> None:
    pass


def _hold_audio_thread() -> Callable[[], None]:
    """SDL2 streams silence while its device is open: ~9,000 system calls a second through
    libpulse, a third of a core in gVisor, for a sandbox nobody has claimed yet.  Holding the
    device's lock stops its thread at the next callback; the stream merely runs dry."""
    sdl = _loaded_sdl()
    if sdl is None:
        return _nothing
    playing = [d for d in range(2, 2 + DEVICES_TRIED) if sdl.SDL_GetAudioDeviceStatus(d) == SDL_AUDIO_PLAYING]
    if not playing:
        return _nothing
    device = playing[0]
    sdl.SDL_LockAudioDevice(device)
    return lambda: sdl.SDL_UnlockAudioDevice(device)


def _loaded_sdl() -> ctypes.CDLL | None:
    """The SDL2 library pygame loaded (its wheel's own copy, or the system's), found in this
    process's mappings: opened again by path, it is the same instance."""
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            paths = {line.split()[-1] for line in maps if "/libSDL2-2" in line}
        return ctypes.CDLL(sorted(paths)[0]) if paths else None
    except (OSError, IndexError):
        return None


def asks_otherwise(opened: tuple[int, int, int], args: Args, kwargs: Kwargs) -> bool:
    """Would init/pre_init with these arguments open something other than ``opened``?
    A 0 or None setting means pygame's default, as pygame reads it."""
    asked = dict(zip(SETTINGS, args, strict=False))
    asked.update(kwargs)
    if asked.get("devicename") is not None:
        return True
    return any(asked.get(name) not in (None, 0, value) for name, value in zip(TOLD_APART, opened, strict=True))


class _StandIn:
    """Wraps pygame.init, pygame.mixer.init and pygame.mixer.pre_init until the program's
    first opening; the wrappers stay (a program may keep a reference) but then only pass on."""

    def __init__(self, pygame: types.ModuleType, driver: str | None, opened: tuple[int, int, int]) -> None:
        self.pygame: Any = pygame            # its functions are replaced: typed as a module, they could not be
        self.mixer: Any = pygame.mixer
        self.driver, self.opened = driver, opened
        self.standing = True

    def install(self) -> None:
        self.pygame.init = self._wrap(self.pygame.init, self._before_init_all)
        self.mixer.init = self._wrap(self.mixer.init, self._before_init_mixer)
        self.mixer.pre_init = self._wrap(self.mixer.pre_init, self._before_pre_init)

    def _wrap(self, real: Callable[..., Any], before: Callable[[Args, Kwargs], None]) -> Callable[..., Any]:
        @functools.wraps(real)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if self.standing:
                before(args, kwargs)
            return real(*args, **kwargs)
        return wrapper

    def _before_init_all(self, args: Args, kwargs: Kwargs) -> None:
        self._step_aside_if(self._driver_changed())

    def _before_init_mixer(self, args: Args, kwargs: Kwargs) -> None:
        self._step_aside_if(self._driver_changed() or asks_otherwise(self.opened, args, kwargs))

    def _before_pre_init(self, args: Args, kwargs: Kwargs) -> None:
        """pre_init opens nothing: the device stands on unless it now stands for the wrong settings."""
        if asks_otherwise(self.opened, args, kwargs):
            self._step_aside_if(True)

    def _driver_changed(self) -> bool:
        return os.environ.get("SDL_AUDIODRIVER") != self.driver

    def _step_aside_if(self, other: bool) -> None:
        """The program's opening is now its own; close the early device if it is the wrong one
        (and still open: the program may have closed it with pygame.mixer.quit())."""
        self.standing = False
        if other and self.mixer.get_init() == self.opened:
            self.mixer.quit()
