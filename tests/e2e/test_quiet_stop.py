"""Stop is quiet: pressing Stop closes the window first (as a desktop's close button would),
and the error a program's own loop then raises is pyplay's doing, so it prints nothing.
The same error raised without a Stop still prints its traceback, as on a desktop."""
from __future__ import annotations

import pytest

from tests.e2e.display_run import start

# The common game loop: the student's own loop calls update(), so the closed window raises
# turtle.Terminator inside it.
TURTLE_GAME_LOOP = """
import turtle
screen = turtle.Screen()
screen.tracer(0)
player = turtle.Turtle()
print('looping', flush=True)
while True:
    player.forward(1)
    player.left(1)
    screen.update()
"""

TK_UPDATE_LOOP = """
import tkinter as tk
root = tk.Tk()
label = tk.Label(root, text='0')
label.pack()
count = 0
print('looping', flush=True)
while True:
    count += 1
    label.config(text=str(count))
    root.update()
"""

# Quits pygame on QUIT but keeps looping: the next call raises pygame.error.
PYGAME_QUIT_THEN_DRAW = """
import pygame
pygame.init()
screen = pygame.display.set_mode((200, 150))
print('looping', flush=True)
while True:
    for event in pygame.event.get():
        if event.type == pygame.QUIT:
            pygame.quit()
    screen.fill((0, 128, 0))
    pygame.display.flip()
    pygame.time.wait(15)
"""


@pytest.mark.parametrize("program", [TURTLE_GAME_LOOP, TK_UPDATE_LOOP, PYGAME_QUIT_THEN_DRAW],
                         ids=["turtle-update-loop", "tk-update-loop", "pygame-quit-then-draw"])
async def test_stop_ends_a_window_loop_without_a_traceback(display_service, program):
    run = await start(display_service, program)
    await run.wait_output("looping")
    exit_event = await run.stop()
    output = bytes(run.output).decode(errors="replace")
    assert exit_event["reason"] == "stopped"
    assert "Traceback" not in output and "Terminator" not in output and "Error" not in output, output


# The program destroys its own window and goes on: that error is the student's to see.
TK_DESTROYS_ITSELF = """
import tkinter as tk
root = tk.Tk()
root.update()
root.destroy()
root.title('again')
"""


async def test_the_same_error_without_stop_still_prints_its_traceback(display_service):
    run = await start(display_service, TK_DESTROYS_ITSELF)
    await run.wait_output("TclError")
    exit_event = await run.exit
    assert exit_event["reason"] == "exited" and exit_event["code"] == 1
    assert "Traceback (most recent call last)" in bytes(run.output).decode(errors="replace")
