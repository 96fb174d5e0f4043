"""tkinter programs as students write them, in `auto` mode, through the real service: keys
into Entry widgets, the mouse on buttons, a slider and a canvas, dialogs, several toplevel
windows, all driven over RFB with no window manager in the sandbox.

Each program prints where its widgets are (relative to its window, which the sandbox puts
at the desktop's origin), so the test knows where a student would click."""
from __future__ import annotations

import asyncio
import contextlib
import re
from typing import AsyncIterator, Dict, Tuple

from testkit.rfb import RFBClient
from tests.e2e.display_run import DisplayRun, start

KEY_RETURN = 0xFF0D
WHERE = '''
def where(name, widget):
    widget.update()
    x = widget.winfo_rootx() - widget.winfo_toplevel().winfo_rootx() + widget.winfo_width() // 2
    y = widget.winfo_rooty() - widget.winfo_toplevel().winfo_rooty() + widget.winfo_height() // 2
    print('at', name, x, y, flush=True)
    top = widget.winfo_toplevel()
    if not getattr(top, 'focus_told', False):   # once per window: the test waits for Tk's focus
        top.focus_told = True
        top.bind('<FocusIn>', lambda event: print('focused', flush=True), add='+')
        if top.focus_get() is not None:
            print('focused', flush=True)
'''


def places(run: DisplayRun) -> Dict[str, Tuple[int, int]]:
    text = bytes(run.output).decode(errors="replace")
    return {name: (int(x), int(y)) for name, x, y in re.findall(r"at (\S+) (\d+) (\d+)", text)}


@contextlib.asynccontextmanager
async def driven(run: DisplayRun, keys: bool = True) -> AsyncIterator[RFBClient]:
    """The viewer, once the window is up (the relay greets it then) and, for ``keys``, Tk has
    its focus (``where`` says so); the run is stopped after, and must say so."""
    rfb = await run.rfb()
    try:
        await rfb.wait_for(lambda c: c.updates > 0, 30, "a first picture")
        if keys:   # Tk moves its focus a moment after drawing (docs/display.md)
            await run.wait_output("focused")
        yield rfb
    finally:
        await rfb.close()
    assert (await run.stop())["reason"] == "stopped"


CALCULATOR = WHERE + '''
import tkinter as tk
root = tk.Tk()
root.title('Calculator')
display = tk.Entry(root, width=14, font=('DejaVu Sans', 18), justify='right')
display.grid(row=0, column=0, columnspan=4)

def press(key):
    if key == '=':
        try:
            result = str(eval(display.get()))
        except Exception:
            result = 'Error'
        display.delete(0, tk.END)
        display.insert(0, result)
        print('result', result, flush=True)
    elif key == 'C':
        display.delete(0, tk.END)
    else:
        display.insert(tk.END, key)

buttons = {}
for i, key in enumerate('789/456*123-C0=+'):
    buttons[key] = tk.Button(root, text=key, width=4, height=2, command=lambda k=key: press(k))
    buttons[key].grid(row=1 + i // 4, column=i % 4)
for key, button in buttons.items():
    where(key, button)
where('display', display)
root.mainloop()
'''


async def test_a_calculator_takes_clicks_and_typed_text(display_service):
    run = await start(display_service, CALCULATOR)
    assert run.started["mode"] == "turtle", "auto gives a tkinter program the Tk display"
    await run.wait_output("at display")
    at = places(run)
    async with driven(run) as rfb:
        for key in "7+8=":
            await rfb.click(*at[key])
        await run.wait_output("result 15")
        await rfb.click(*at["C"])
        await rfb.click(*at["display"])
        await rfb.type_text("6*7")
        await rfb.click(*at["="])
        await run.wait_output("result 42")


TODO_LIST = WHERE + '''
import tkinter as tk
root = tk.Tk()
root.title('To do')
entry = tk.Entry(root, width=30)
entry.pack(padx=10, pady=5)
items = tk.Listbox(root, width=30, height=6)
items.pack(padx=10)

def show():
    print('items', list(items.get(0, tk.END)), flush=True)

def add(event=None):
    text = entry.get().strip()
    if text:
        items.insert(tk.END, text)
        entry.delete(0, tk.END)
        show()

def done():
    for index in reversed(items.curselection()):
        items.delete(index)
    show()

entry.bind('<Return>', add)
tk.Button(root, text='Done', command=done).pack(pady=5)
entry.focus_set()
where('entry', entry)
where('list', items)
where('done', root.pack_slaves()[-1])
root.mainloop()
'''


async def test_a_todo_list_adds_typed_items_and_removes_the_selected_one(display_service):
    run = await start(display_service, TODO_LIST)
    await run.wait_output("at done")
    at = places(run)
    async with driven(run) as rfb:
        await rfb.type_text("milk")
        await rfb.press(KEY_RETURN)
        await run.wait_output("items ['milk']")
        await rfb.type_text("eggs")
        await rfb.press(KEY_RETURN)
        await run.wait_output("items ['milk', 'eggs']")
        list_x, list_y = at["list"]
        first_row = list_y - 40            # six rows of ~16 px around the middle: the top one
        await rfb.click(list_x, first_row)
        await rfb.click(*at["done"])
        await run.wait_output("items ['eggs']")


PAINT = WHERE + '''
import tkinter as tk
root = tk.Tk()
root.title('Paint')
canvas = tk.Canvas(root, width=300, height=200, bg='white', highlightthickness=0)
canvas.pack()
size = tk.Scale(root, from_=1, to=20, orient=tk.HORIZONTAL, length=300,
                command=lambda value: print('size', value, flush=True))
size.set(4)
size.pack()

def paint(event):
    r = size.get()
    canvas.create_oval(event.x - r, event.y - r, event.x + r, event.y + r, fill='black', outline='black')

canvas.bind('<B1-Motion>', paint)
canvas.bind('<Button-1>', paint)
where('canvas', canvas)
where('slider', size)
root.mainloop()
'''


async def test_a_paint_program_draws_where_the_mouse_drags_and_its_slider_moves(display_service):
    run = await start(display_service, PAINT)
    await run.wait_output("at slider")
    at = places(run)
    async with driven(run) as rfb:
        canvas_x, canvas_y = at["canvas"]
        area = (canvas_x - 150, canvas_y - 100, 300, 200)
        await rfb.wait_for(lambda c: c.count_colour((255, 255, 255), 0, area) > 50000, 30, "a white canvas")
        await rfb.pointer(1, canvas_x - 100, canvas_y)
        for step in range(0, 200, 10):
            await rfb.pointer(1, canvas_x - 100 + step, canvas_y)
            await asyncio.sleep(0.01)
        await rfb.pointer(0, canvas_x + 100, canvas_y)
        await rfb.wait_for(lambda c: c.count_colour((0, 0, 0), 0, area) > 500, 30, "a black stroke on the canvas")
        slider_x, slider_y = at["slider"]
        await rfb.click(slider_x + 140, slider_y + 8)    # the trough right of the knob: one step up
        await run.wait_output("size 5")


DIALOGS = WHERE + '''
import tkinter as tk
from tkinter import filedialog, messagebox, simpledialog
root = tk.Tk()
root.title('Dialogs')

def ask():
    print('answer', messagebox.askyesno('Quit?', 'Do you really want to quit?'), flush=True)

def name():
    print('name', simpledialog.askstring('Name', 'What is your name?', parent=root), flush=True)

def save():
    print('path', filedialog.asksaveasfilename(parent=root, initialdir='.'), flush=True)

buttons = {label: tk.Button(root, text=label, width=12, command=command)
           for label, command in (('Ask', ask), ('Name', name), ('Save', save))}
for label, button in buttons.items():
    button.pack(padx=20, pady=4)
for label, button in buttons.items():
    where(label, button)
root.mainloop()
'''


async def test_messagebox_simpledialog_and_filedialog_take_keys_with_no_window_manager(display_service):
    run = await start(display_service, DIALOGS)
    await run.wait_output("at Save")
    at = places(run)
    async with driven(run) as rfb:
        for button, typed, expected in (("Ask", "", "answer True"), ("Name", "Ada", "name Ada"),
                                        ("Save", "notes.txt", "path /workspace/notes.txt")):
            await rfb.click(*at[button])
            await asyncio.sleep(1.0)       # the dialog maps, takes the focus, and draws
            if typed:
                await rfb.type_text(typed)
            await rfb.press(KEY_RETURN)
            await run.wait_output(expected)


TWO_WINDOWS = """
import tkinter as tk
root = tk.Tk()
root.title('Main')
tk.Label(root, text='Main window', width=30, height=5).pack()
main_button = tk.Button(root, text='Main', command=lambda: print('clicked main', flush=True))
main_button.pack()
second = tk.Toplevel(root)
second.title('Second')
tk.Label(second, text='Second window', width=20, height=3).pack()
second_button = tk.Button(second, text='Second', command=lambda: print('clicked second', flush=True))
second_button.pack()

def report():
    for name, button in (('main', main_button), ('second', second_button)):
        print('on screen', name, button.winfo_rootx() + 10, button.winfo_rooty() + 10, flush=True)

root.after(1500, report)   # once the sandbox has placed both windows
root.mainloop()
"""


async def test_two_toplevels_are_side_by_side_and_both_take_clicks(display_service):
    run = await start(display_service, TWO_WINDOWS)
    await run.wait_output("on screen second")
    at = {name: (int(x), int(y)) for name, x, y in
          re.findall(r"on screen (\S+) (\d+) (\d+)", bytes(run.output).decode())}
    assert abs(at["main"][0] - at["second"][0]) > 100, f"side by side, not on top of each other: {at}"
    async with driven(run, keys=False) as rfb:   # clicks only
        await rfb.click(*at["main"])
        await run.wait_output("clicked main")
        await rfb.click(*at["second"])
        await run.wait_output("clicked second")
