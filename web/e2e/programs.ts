// Programs the display specs run, and the colours they paint (for canvasColors in ide.ts).
import type { ColorTarget } from './ide'

// Green background while the right arrow is held (pygame.key.get_pressed), blue otherwise;
// the yellow player moves right while it is held.
export const PYGAME_PROGRAM = `import random
import pygame

pygame.init()
screen = pygame.display.set_mode((480, 320))
font = pygame.font.Font(None, 30)
clock = pygame.time.Clock()
random.seed(4)
stars = [(random.randrange(480), random.randrange(320)) for _ in range(40)]
x = 20
print("Hold the right arrow key!")
while True:
    for event in pygame.event.get():
        if event.type == pygame.QUIT:
            raise SystemExit
    held = pygame.key.get_pressed()[pygame.K_RIGHT]
    if held:
        x = min(x + 6, 420)
    screen.fill((40, 170, 70) if held else (30, 40, 130))
    for star in stars:
        screen.set_at(star, (255, 255, 255))
    pygame.draw.circle(screen, (255, 210, 0), (x + 20, 170), 24)
    screen.blit(font.render("Hold the right arrow!", True, (255, 255, 255)), (140, 24))
    pygame.display.flip()
    clock.tick(60)
`

export const green: ColorTarget = { name: 'green', rgb: [40, 170, 70], tolerance: 12 }
export const blue: ColorTarget = { name: 'blue', rgb: [30, 40, 130], tolerance: 12 }

// The right arrow held turns the background green (as PYGAME_PROGRAM); each Space press prints
// "jump N" in the terminal, so a test sees Space reach the game (and not restart it).
export const SPACE_GAME = PYGAME_PROGRAM
  .replace('print("Hold the right arrow key!")', 'print("Hold the right arrow key!")\njumps = 0')
  .replace(`        if event.type == pygame.QUIT:
            raise SystemExit`, `        if event.type == pygame.QUIT:
            raise SystemExit
        if event.type == pygame.KEYDOWN and event.key == pygame.K_SPACE:
            jumps += 1
            print("jump", jumps, flush=True)`)

// PYGAME_PROGRAM with its player moving all the time, at 60 frames a second (the IDE bench's
// frames-drawn figure): every frame of the game changes the picture.
export const MOVING_SPRITE = PYGAME_PROGRAM.replace(`    if held:
        x = min(x + 6, 420)`, `    x = (x + 4) % 420`)
