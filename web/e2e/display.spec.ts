// Display modes: turtle draws into the display pane; pygame sees a key held down in it.
import { expect, test, type Page } from '@playwright/test'
import { canvasColors, openIde, pasteProgram, run, screenshotPath } from './ide'
import { PYGAME_PROGRAM, blue, green } from './programs'

const TURTLE_PROGRAM = `import turtle

screen = turtle.Screen()
screen.bgcolor("white")
pen = turtle.Turtle()
pen.speed(0)
pen.width(6)
pen.penup()
pen.goto(-110, 0)
pen.pendown()
colors = ["red", "orange", "gold", "green", "blue", "purple"]
for i in range(36):
    pen.color(colors[i % 6])
    pen.forward(220)
    pen.left(170)
pen.hideturtle()
print("Star done!")
turtle.done()
`

const display = (page: Page) => page.getByTestId('display')
const red = { name: 'red', rgb: [255, 0, 0] as [number, number, number], tolerance: 60 }
const white = { name: 'white', rgb: [255, 255, 255] as [number, number, number], tolerance: 10 }

test.beforeEach(async ({ page }) => { await openIde(page) })

test('a turtle program draws into the display, and the drawing stays after Stop', async ({ page }) => {
  await pasteProgram(page, TURTLE_PROGRAM)
  await run(page)
  await expect(display(page)).toBeVisible()
  await expect(display(page)).toHaveAttribute('data-phase', 'live')
  await expect.poll(async () => (await canvasColors(page, [red, white])).white, { timeout: 30_000 }).toBeGreaterThan(0.3)
  await expect(page.getByTestId('terminal')).toContainText('Star done!', { timeout: 30_000 })
  const drawn = await canvasColors(page, [red, white])
  expect(drawn.red).toBeGreaterThan(0.002)
  await page.screenshot({ path: screenshotPath('ide-turtle.png') })

  await page.getByTestId('stop').click()
  await expect(page.getByTestId('status')).toHaveText('Stopped')
  await expect(display(page)).toHaveAttribute('data-phase', 'ended')
  await expect(page.getByTestId('display-banner')).toHaveText('Program ended') // beside the picture, not over it
  const after = await canvasColors(page, [red, white])
  expect(after.red).toBeGreaterThan(0.002)
})

test('a pygame program sees a key held down in the display, and the key is released when focus leaves', async ({ page }) => {
  await pasteProgram(page, PYGAME_PROGRAM)
  await run(page)
  await expect(display(page)).toHaveAttribute('data-phase', 'live')
  await expect.poll(async () => (await canvasColors(page, [blue])).blue, { timeout: 30_000 }).toBeGreaterThan(0.25)

  await display(page).locator('canvas').first().click() // click to focus
  await page.keyboard.down('ArrowRight')
  await expect.poll(async () => (await canvasColors(page, [green])).green, { timeout: 10_000 }).toBeGreaterThan(0.25)
  await page.waitForTimeout(500) // let the player travel
  await page.screenshot({ path: screenshotPath('ide-pygame.png') })

  // Focus moves to the editor while the key is still down: the game must see it released.
  await page.locator('[data-testid="editor"] .cm-content').click()
  await expect.poll(async () => (await canvasColors(page, [blue])).blue, { timeout: 10_000 }).toBeGreaterThan(0.25)
  await page.keyboard.up('ArrowRight')

  await page.getByTestId('stop').click()
  await expect(page.getByTestId('status')).toHaveText('Stopped')
})
