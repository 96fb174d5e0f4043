# Calculator - my tkinter project
import tkinter as tk

window = tk.Tk()
window.title("Calculator")
window.geometry("240x300")

display = tk.Entry(window, font=("Arial", 18), justify="right")
display.grid(row=0, column=0, columnspan=4, sticky="nsew")

def press(key):
    if key == "=":
        calculate()
    elif key == "C":
        display.delete(0, tk.END)
    else:
        display.insert(tk.END, key)

def calculate(event=None):
    expression = display.get()
    try:
        answer = eval(expression)
    except Exception:
        answer = "Error"
    print(expression, "=", answer)
    display.delete(0, tk.END)
    display.insert(0, str(answer))

buttons = [
    "7", "8", "9", "/",
    "4", "5", "6", "*",
    "1", "2", "3", "-",
    "C", "0", "=", "+",
]
for i, key in enumerate(buttons):
    b = tk.Button(window, text=key, font=("Arial", 14), command=lambda k=key: press(k))
    b.grid(row=i // 4 + 1, column=i % 4, sticky="nsew")

for row in range(5):
    window.rowconfigure(row, weight=1, uniform="rows")
for column in range(4):
    window.columnconfigure(column, weight=1, uniform="columns")

display.bind("<Return>", calculate)
display.focus_set()
window.mainloop()
