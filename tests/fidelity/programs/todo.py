from tkinter import *

root = Tk()
root.title("To-Do List")

tasks = []

def add_task(event=None):
    task = entry.get()
    if task != "":
        tasks.append(task)
        listbox.insert(END, task)
        entry.delete(0, END)
        print("Added:", task, "-", len(tasks), "tasks")

def delete_task():
    selected = listbox.curselection()
    if selected:
        index = selected[0]
        print("Done:", tasks[index])
        listbox.delete(index)
        tasks.pop(index)

Label(root, text="My tasks", font=("Helvetica", 16)).pack(pady=5)
entry = Entry(root, width=30)
entry.pack(padx=10)
entry.bind("<Return>", add_task)
Button(root, text="Add", command=add_task).pack(pady=2)
listbox = Listbox(root, width=30, height=8)
listbox.pack(padx=10)
Button(root, text="Delete", command=delete_task).pack(pady=5)

entry.focus_set()
root.mainloop()
