import pygame
import random

pygame.init()
screen = pygame.display.set_mode((400, 300))
pygame.display.set_caption("Dodge!")
clock = pygame.time.Clock()
font = pygame.font.SysFont("arial", 20)

player = pygame.Rect(180, 260, 40, 20)
rocks = []
score = 0
running = True
while running:
    for event in pygame.event.get():
        if event.type == pygame.QUIT:
            running = False
    keys = pygame.key.get_pressed()
    if keys[pygame.K_LEFT] and player.left > 0:
        player.x -= 5
    if keys[pygame.K_RIGHT] and player.right < 400:
        player.x += 5
    if random.randint(1, 20) == 1:
        rocks.append(pygame.Rect(random.randint(0, 380), 0, 20, 20))
    for rock in rocks[:]:
        rock.y += 4
        if rock.colliderect(player):
            print("Hit! Score:", score)
            score = 0
            rocks.clear()
            break
        if rock.top > 300:
            rocks.remove(rock)
            score += 1
    screen.fill((20, 20, 40))
    pygame.draw.rect(screen, (0, 200, 255), player)
    for rock in rocks:
        pygame.draw.rect(screen, (200, 100, 50), rock)
    screen.blit(font.render("Score: " + str(score), True, (255, 255, 255)), (10, 10))
    pygame.display.flip()
    clock.tick(60)
pygame.quit()
