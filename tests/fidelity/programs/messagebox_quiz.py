import tkinter as tk
from tkinter import messagebox

root = tk.Tk()
root.title("Quiz")
tk.Label(root, text="Welcome to the quiz!", font=("Arial", 20)).pack(padx=20, pady=20)
root.update()

if messagebox.askyesno("Question 1", "Is Python named after Monty Python?"):
    print("Correct!")
    messagebox.showinfo("Well done", "You got it right!")
else:
    print("Wrong!")
print("Quiz over")
root.destroy()
