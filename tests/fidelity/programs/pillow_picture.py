# Draw a picture with Pillow and show it in a window
import tkinter as tk
from PIL import Image, ImageDraw, ImageFilter, ImageTk

img = Image.new("RGB", (300, 200), "navy")
draw = ImageDraw.Draw(img)
for i in range(10):
    draw.ellipse((i * 25, i * 10, i * 25 + 60, i * 10 + 60), fill=(255, i * 25, 0))
draw.text((10, 170), "Made with Pillow", fill="white")
img = img.filter(ImageFilter.SMOOTH)
print("size:", img.size)

root = tk.Tk()
photo = ImageTk.PhotoImage(img)
tk.Label(root, image=photo).pack()
root.mainloop()
