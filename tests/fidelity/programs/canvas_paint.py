import tkinter as tk
import random

root = tk.Tk()
root.title("Paint")
canvas = tk.Canvas(root, width=400, height=300, bg="white")
canvas.pack()

colour = "black"
strokes = 0

def paint(event):
    r = 4
    canvas.create_oval(event.x - r, event.y - r, event.x + r, event.y + r, fill=colour, outline=colour)

def new_colour(event):
    global colour, strokes
    colour = random.choice(["red", "green", "blue", "orange", "purple"])
    strokes += 1

canvas.bind("<B1-Motion>", paint)
canvas.bind("<ButtonRelease-1>", new_colour)
tk.Button(root, text="Clear", command=lambda: canvas.delete("all")).pack()
root.mainloop()
