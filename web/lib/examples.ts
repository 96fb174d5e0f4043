// Programs a student can start from. The first one is what a new visitor sees.

export const STARTER_PROGRAM = `# Welcome to pyplay!  Press Run (or Ctrl+Enter) to start.
name = input("What's your name? ")
print(f"Hi {name}! Let's build a rocket:")

for size in range(1, 6):
    print(" " * (6 - size) + "*" * (2 * size - 1))
print("    | |")
print("Blast off! Now change the program and run it again.")
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

export interface Example { id: string; title: string; text: string }

export const EXAMPLES: Example[] = [
  { id: 'hello', title: 'Hello rocket (input)', text: STARTER_PROGRAM },
  { id: 'turtle', title: 'Turtle star', text: TURTLE_EXAMPLE },
  { id: 'pygame', title: 'Pygame: move a square', text: PYGAME_EXAMPLE },
]
