from turtle import *
from random import randint

speed(0)
penup()
goto(-140, 140)
for step in range(15):
    write(step, align="center")
    right(90)
    forward(10)
    pendown()
    forward(150)
    penup()
    backward(160)
    left(90)
    forward(20)

colours = ["red", "blue", "green", "orange"]
racers = []
for i, colour in enumerate(colours):
    t = Turtle()
    t.color(colour)
    t.shape("turtle")
    t.penup()
    t.goto(-160, 100 - i * 30)
    t.pendown()
    racers.append(t)

for turn in range(30):
    for t in racers:
        t.forward(randint(1, 5))

print("Race finished!")
done()
