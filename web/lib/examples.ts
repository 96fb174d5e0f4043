// The programs of the starter templates (lib/templates.ts), written for a classroom: short, commented
// where a student will want to change something, and each one does something on its own.

export const STARTER_PROGRAM = `# Welcome to pyplay!  Press Run (or Ctrl+Enter) to start.
name = input("What's your name? ")
print(f"Hi {name}! Let's build a rocket:")

for size in range(1, 6):
    print(" " * (6 - size) + "*" * (2 * size - 1))
print("    | |")
print("Blast off! Now change the program and run it again.")
`

export const QUIZ_PROGRAM = `# A quiz: change the questions, add your own!
questions = [
    ("What is the capital of France?", "paris"),
    ("How many legs does a spider have?", "8"),
    ("What is 7 x 6?", "42"),
]

score = 0
for question, answer in questions:
    reply = input(question + " ")
    if reply.strip().lower() == answer:
        print("Correct!")
        score += 1
    else:
        print("Not quite, the answer is", answer)

print(f"You scored {score} out of {len(questions)}.")
`

export const GUESS_PROGRAM = `# Guess the number: the computer picks, you guess.
import random

secret = random.randint(1, 20)
tries = 0
print("I'm thinking of a number between 1 and 20.")

while True:
    text = input("Your guess: ")
    if not text.strip().isdigit():
        print("Please type a number.")
        continue
    guess = int(text)
    tries += 1
    if guess < secret:
        print("Too low!")
    elif guess > secret:
        print("Too high!")
    else:
        print(f"Yes! It was {secret}. You needed {tries} tries.")
        break
`

export const MULTI_FILE_MAIN = `# A project with two files: main.py runs first and imports helpers.py.
from helpers import average, banner, bar

banner("Class results")
scores = {"Ada": 9, "Grace": 8, "Alan": 7, "Katherine": 10}
for name, score in scores.items():
    print(f"{name:>10}: {bar(score)} {score}")
print(f"Average: {average(list(scores.values())):.1f}")
`

export const MULTI_FILE_HELPERS = `# Functions main.py uses.  Add your own and import them there.


def banner(title):
    print("=" * (len(title) + 4))
    print(f"  {title}")
    print("=" * (len(title) + 4))


def bar(length):
    return "#" * length


def average(numbers):
    return sum(numbers) / len(numbers)
`

export const TURTLE_EXAMPLE = `import turtle

pen = turtle.Turtle()
pen.speed(0)
pen.width(3)
colors = ["red", "orange", "gold", "green", "blue", "purple"]

for i in range(36):
    pen.color(colors[i % len(colors)])
    pen.forward(150)
    pen.left(170)

turtle.done()
`

export const TURTLE_KEYS_PROGRAM = `# Etch-a-sketch: the arrow keys draw, a click jumps there, "c" clears.
import turtle

screen = turtle.Screen()
screen.bgcolor("white")
pen = turtle.Turtle()
pen.shape("turtle")
pen.color("darkgreen")
pen.width(3)
pen.speed(0)


def up():
    pen.setheading(90)
    pen.forward(15)


def down():
    pen.setheading(270)
    pen.forward(15)


def left():
    pen.setheading(180)
    pen.forward(15)


def right():
    pen.setheading(0)
    pen.forward(15)


def jump(x, y):
    pen.penup()
    pen.goto(x, y)
    pen.pendown()


screen.onkey(up, "Up")
screen.onkey(down, "Down")
screen.onkey(left, "Left")
screen.onkey(right, "Right")
screen.onkey(pen.clear, "c")
screen.onclick(jump)
screen.listen()
print("Click the drawing, then use the arrow keys. Press c to clear.")
turtle.done()
`

export const TURTLE_GARDEN_PROGRAM = `# A garden: each flower is drawn by a function.  Click to plant another one.
import random
import turtle

screen = turtle.Screen()
screen.bgcolor("lightgreen")
pen = turtle.Turtle()
pen.hideturtle()
pen.speed(0)


def flower(x, y, color):
    pen.penup()
    pen.goto(x, y)
    pen.pendown()
    pen.color("forestgreen")
    pen.width(6)
    pen.setheading(270)
    pen.forward(120)  # the stem
    pen.backward(120)
    pen.width(1)
    pen.color("black", color)
    for _ in range(8):  # eight petals, each two arcs
        pen.begin_fill()
        pen.circle(50, 60)
        pen.left(120)
        pen.circle(50, 60)
        pen.left(120)
        pen.end_fill()
        pen.left(45)
    pen.dot(24, "gold")


colors = ["red", "purple", "orange", "deeppink", "blue"]
for x in (-160, 0, 160):
    flower(x, 40, random.choice(colors))

screen.onclick(lambda x, y: flower(x, y, random.choice(colors)))
print("Click anywhere to plant a flower.")
turtle.done()
`

export const PYGAME_EXAMPLE = `import pygame

pygame.init()
screen = pygame.display.set_mode((640, 480))
pygame.display.set_caption("Move the square with the arrow keys")
clock = pygame.time.Clock()
x, y = 300, 220

running = True
while running:
    for event in pygame.event.get():
        if event.type == pygame.QUIT:
            running = False
    keys = pygame.key.get_pressed()
    x += (keys[pygame.K_RIGHT] - keys[pygame.K_LEFT]) * 5
    y += (keys[pygame.K_DOWN] - keys[pygame.K_UP]) * 5
    screen.fill((30, 30, 60))
    pygame.draw.rect(screen, (255, 200, 0), (x, y, 40, 40))
    pygame.display.flip()
    clock.tick(60)

pygame.quit()
`

export const PYGAME_GAME_PROGRAM = `# Coin catcher: move with the arrow keys, catch the coins.
# player.png and coin.wav are files of this project (see the tabs above).
import random
import pygame

pygame.init()
screen = pygame.display.set_mode((640, 480))
pygame.display.set_caption("Coin catcher")
clock = pygame.time.Clock()
font = pygame.font.Font(None, 36)

player = pygame.image.load("player.png").convert_alpha()
player_rect = player.get_rect(center=(320, 400))
coin_sound = pygame.mixer.Sound("coin.wav")

coin = pygame.Rect(random.randrange(20, 600), 0, 20, 20)
score = 0
speed = 3
coin_sound.play()  # a blip to say the game has started
print("Catch the coins with the arrow keys!")

running = True
while running:
    for event in pygame.event.get():
        if event.type == pygame.QUIT:
            running = False
    keys = pygame.key.get_pressed()
    player_rect.x += (keys[pygame.K_RIGHT] - keys[pygame.K_LEFT]) * 6
    player_rect.clamp_ip(screen.get_rect())

    coin.y += speed
    if coin.colliderect(player_rect):
        score += 1
        speed += 0.5
        coin_sound.play()
        print("Score:", score)
        coin.topleft = (random.randrange(20, 600), 0)
    elif coin.top > 480:
        coin.topleft = (random.randrange(20, 600), 0)

    screen.fill((25, 30, 70))
    pygame.draw.ellipse(screen, (255, 215, 0), coin)
    screen.blit(player, player_rect)
    screen.blit(font.render(f"Score: {score}", True, (255, 255, 255)), (16, 16))
    pygame.display.flip()
    clock.tick(60)

pygame.quit()
`

export const PYGAME_BOUNCE_PROGRAM = `# Bouncing balls: click to add a ball.
import random
import pygame

pygame.init()
screen = pygame.display.set_mode((640, 480))
pygame.display.set_caption("Bouncing balls")
clock = pygame.time.Clock()


def new_ball(x, y):
    color = [random.randrange(80, 256) for _ in range(3)]
    return {"x": x, "y": y, "dx": random.choice([-4, -3, 3, 4]), "dy": random.choice([-4, -3, 3, 4]), "color": color}


balls = [new_ball(320, 240)]
print("Click the window to add a ball.")

running = True
while running:
    for event in pygame.event.get():
        if event.type == pygame.QUIT:
            running = False
        elif event.type == pygame.MOUSEBUTTONDOWN:
            balls.append(new_ball(*event.pos))
    screen.fill((20, 20, 35))
    for ball in balls:
        ball["x"] += ball["dx"]
        ball["y"] += ball["dy"]
        if not 15 <= ball["x"] <= 625:
            ball["dx"] = -ball["dx"]
        if not 15 <= ball["y"] <= 465:
            ball["dy"] = -ball["dy"]
        pygame.draw.circle(screen, ball["color"], (int(ball["x"]), int(ball["y"])), 15)
    pygame.display.flip()
    clock.tick(60)

pygame.quit()
`
