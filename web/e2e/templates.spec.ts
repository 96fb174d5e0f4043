// Every starter template runs in the real service (gVisor sandbox, Xvnc for the display ones) and
// does what it says; the README's screenshots of each mode come from here (issue 12, item 4).
import { expect, test, type Page } from '@playwright/test'
import { TEMPLATES } from '../lib/templates'
import { canvasColors, newProjectFrom, openIde, run, screenshotPath, terminal } from './ide'

test.use({ viewport: { width: 1366, height: 768 } })

async function answer(page: Page, text: string): Promise<void> {
  await page.getByTestId('terminal').click()
  await page.keyboard.type(text)
  await page.keyboard.press('Enter')
}

/** The number of times `text` appears in the terminal. */
const count = async (page: Page, text: string) => (await terminal(page).innerText()).split(text).length - 1

/** What a student does with each template, and what shows that it works. */
const play: Record<string, (page: Page) => Promise<void>> = {
  async hello(page) {
    await expect(terminal(page)).toContainText("What's your name?")
    await answer(page, 'Ada')
    await expect(terminal(page)).toContainText('Hi Ada!')
    await expect(page.getByTestId('status')).toHaveText('Finished (exit code 0)')
  },
  async quiz(page) {
    for (const [question, reply] of [['capital of France', 'Paris'], ['legs does a spider', '8'], ['7 x 6', '42']] as const) {
      await expect(terminal(page)).toContainText(question)
      await answer(page, reply)
    }
    await expect(terminal(page)).toContainText('You scored 3 out of 3.')
    await expect(page.getByTestId('status')).toHaveText('Finished (exit code 0)')
  },
  async guess(page) {
    let [low, high] = [1, 20]
    for (let tries = 1; tries <= 6; tries++) {
      await expect.poll(() => count(page, 'Your guess:')).toBe(tries)
      const guess = Math.floor((low + high) / 2)
      const before = { low: await count(page, 'Too low!'), high: await count(page, 'Too high!') }
      await answer(page, String(guess))
      await expect.poll(async () => (await count(page, 'Too low!')) + (await count(page, 'Too high!')) + (await count(page, 'Yes!')))
        .toBe(before.low + before.high + 1)
      if (await count(page, 'Yes!')) break
      if ((await count(page, 'Too low!')) > before.low) low = guess + 1
      else high = guess - 1
    }
    await expect(terminal(page)).toContainText('Yes! It was')
    await expect(page.getByTestId('status')).toHaveText('Finished (exit code 0)')
  },
  async 'multi-file'(page) {
    await expect(terminal(page)).toContainText('Average: 8.5')
    await expect(page.getByTestId('status')).toHaveText('Finished (exit code 0)')
  },
  'turtle-star': (page) => showsPicture(page, { name: 'red', rgb: [255, 0, 0], tolerance: 40 }),
  async 'turtle-keys'(page) {
    await expect(terminal(page)).toContainText('use the arrow keys')
    await page.getByTestId('display').click()
    for (let i = 0; i < 6; i++) await page.keyboard.press('ArrowUp')
    await showsPicture(page, { name: 'darkgreen', rgb: [0, 100, 0], tolerance: 30 })
  },
  async 'turtle-garden'(page) {
    await expect(terminal(page)).toContainText('plant a flower')
    await showsPicture(page, { name: 'gold', rgb: [255, 215, 0], tolerance: 30 })
  },
  async 'pygame-game'(page) {
    await expect(terminal(page)).toContainText('Catch the coins')
    await showsPicture(page, { name: 'player', rgb: [255, 205, 40], tolerance: 20 })
  },
  'pygame-square': (page) => showsPicture(page, { name: 'square', rgb: [255, 200, 0], tolerance: 20 }),
  'pygame-bounce': (page) => showsPicture(page, { name: 'background', rgb: [20, 20, 35], tolerance: 8 }),
}

async function showsPicture(page: Page, color: Parameters<typeof canvasColors>[1][number]): Promise<void> {
  await expect(page.getByTestId('status')).toHaveText(/Running/)
  await expect.poll(async () => (await canvasColors(page, [color]))[color.name], { timeout: 30_000 }).toBeGreaterThan(0.001)
}

const screenshots: Record<string, string> = { quiz: 'ide-python.png', 'turtle-garden': 'ide-turtle.png', 'pygame-game': 'ide-pygame.png' }

for (const template of TEMPLATES) {
  test(`template "${template.title}" (${template.mode}) runs`, async ({ page }) => {
    await openIde(page)
    await newProjectFrom(page, template.id)
    await run(page)
    await play[template.id]!(page)
    if (screenshots[template.id]) await page.screenshot({ path: screenshotPath(`template-${screenshots[template.id]}`) })
    expect(await terminal(page).innerText()).not.toMatch(/Traceback|Error/)
    if (template.mode !== 'python') {
      await page.getByTestId('stop').click()
      await expect(page.getByTestId('status')).toHaveText('Stopped')
      expect(await terminal(page).innerText()).not.toMatch(/Traceback|Error/)
    }
  })
}

test('every template has a scripted check here', () => {
  expect(TEMPLATES.map((t) => t.id).filter((id) => !play[id])).toEqual([])
})
