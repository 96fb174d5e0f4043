// Keys go where the program is (issue 12 items 1 and 9): after Run the game or the terminal has
// the keyboard, Run and Stop never keep it, Escape hands it back to the editor, and Ctrl+Enter
// runs from anywhere without typing into the code, the terminal or the game.
import { expect, test, type Page } from '@playwright/test'
import { canvasColors, editorText, openIde, pasteProgram, run, sentMessages, terminal } from './ide'
import { SPACE_GAME, blue, green } from './programs'

test.use({ viewport: { width: 1366, height: 768 } })
test.beforeEach(async ({ page }) => { await openIde(page) })

const display = (page: Page) => page.getByTestId('display')
/** What has the keyboard: 'editor', 'terminal', 'display', 'run', 'stop' or the element's tag. */
const focusedPane = (page: Page) => page.evaluate(() => {
  const active = document.activeElement
  if (!active) return 'none'
  for (const id of ['editor', 'terminal', 'display', 'run', 'stop']) {
    if (active.closest(`[data-testid="${id}"]`)) return id
  }
  return active.tagName.toLowerCase()
})

test('after a click on Run the game has the keys: arrows work without clicking the picture, Space reaches the game and does not restart it', async ({ page }) => {
  await pasteProgram(page, SPACE_GAME)
  await run(page)
  await expect(display(page)).toHaveAttribute('data-phase', 'live')
  await expect.poll(async () => (await canvasColors(page, [blue])).blue, { timeout: 30_000 }).toBeGreaterThan(0.25)
  await expect.poll(() => focusedPane(page)).toBe('display')

  await page.keyboard.down('ArrowRight') // no click on the picture first
  await expect.poll(async () => (await canvasColors(page, [green])).green, { timeout: 10_000 }).toBeGreaterThan(0.25)
  await page.keyboard.up('ArrowRight')
  await expect.poll(async () => (await canvasColors(page, [blue])).blue, { timeout: 10_000 }).toBeGreaterThan(0.25)

  await page.keyboard.press('Space')
  await expect(terminal(page)).toContainText('jump 1')
  // (Two presses in the same instant would look like key repeat to SDL, which pygame drops.)
  await page.keyboard.press('Space')
  await expect(terminal(page)).toContainText('jump 2')
  expect(sentMessages(page, 'run')).toHaveLength(1) // Space did not press Run again
  await expect(page.getByTestId('status')).toHaveText(/^Running pygame/)

  // Escape: the game sees it, then the editor has the keys (a visible ring moves with them).
  await page.keyboard.press('Escape')
  await expect.poll(() => focusedPane(page)).toBe('editor')
  const code = await editorText(page)
  await page.keyboard.press('ControlOrMeta+Enter') // from the editor: runs, and the code is unchanged
  await expect.poll(() => sentMessages(page, 'run').length).toBe(2)
  expect(await editorText(page)).toBe(code)
  await expect(display(page)).toHaveAttribute('data-phase', 'live')
  await expect.poll(() => focusedPane(page)).toBe('display')

  // Each run sends the picture area's size (run.screen): measured once the pane shows, and worked
  // out from the layout before it first did (the first run), to within a few pixels.
  const area = await display(page).locator('.display-screen').boundingBox()
  const [first, second] = sentMessages(page, 'run').map((m) => m.screen as { width: number; height: number })
  expect(second).toEqual({ width: Math.floor(area!.width), height: Math.floor(area!.height) })
  expect(Math.abs(first!.width - second!.width)).toBeLessThanOrEqual(4)
  expect(Math.abs(first!.height - second!.height)).toBeLessThanOrEqual(4)

  // From the display: Ctrl+Enter runs again; the game gets no Enter and the code stays as it was.
  await page.keyboard.press('ControlOrMeta+Enter')
  await expect.poll(() => sentMessages(page, 'run').length).toBe(3)
  expect(await editorText(page)).toBe(code)
  await expect(display(page)).toHaveAttribute('data-phase', 'live')
  await page.getByTestId('stop').click()
  await expect(page.getByTestId('status')).toHaveText('Stopped')
  expect(await focusedPane(page)).not.toBe('stop')
})

test('a Python run gives the terminal the keys; Ctrl+Enter there runs again without sending Enter to the program', async ({ page }) => {
  const program = 'name = input("Name? ")\nprint("Hello,", name)\n'
  await pasteProgram(page, program)
  await run(page)
  await expect(terminal(page)).toContainText('Name?')
  await expect.poll(() => focusedPane(page)).toBe('terminal')
  await page.keyboard.type('Ada') // no click on the terminal
  const code = await editorText(page)
  await page.keyboard.press('ControlOrMeta+Enter')
  await expect.poll(() => sentMessages(page, 'run').length).toBe(2)
  // The first run got "Ada" but never the Enter that would have finished input().
  expect(sentMessages(page, 'stdin').map((m) => m.data).join('')).toBe('Ada')
  expect(await editorText(page)).toBe(code)
  await expect(terminal(page)).not.toContainText('Ada') // the second run started: a fresh terminal
  await expect(terminal(page)).toContainText('Name?')
  await expect.poll(() => focusedPane(page)).toBe('terminal')
  await page.keyboard.type('Grace')
  await page.keyboard.press('Enter')
  await expect(terminal(page)).toContainText('Hello, Grace')
  await page.keyboard.press('Escape')
  await expect.poll(() => focusedPane(page)).toBe('editor')
})

test('Run and Stop do not keep the keyboard; the display goes fullscreen and into a window of its own', async ({ page }) => {
  await pasteProgram(page, SPACE_GAME)
  await page.getByTestId('run').click()
  expect(await focusedPane(page)).not.toBe('run')
  await expect(display(page)).toHaveAttribute('data-phase', 'live')
  await expect.poll(async () => (await canvasColors(page, [blue])).blue, { timeout: 30_000 }).toBeGreaterThan(0.25)
  const small = await display(page).locator('canvas').first().boundingBox()

  await page.getByTestId('display-fullscreen').click()
  await expect(display(page)).toHaveAttribute('data-fullscreen', 'true')
  await expect.poll(async () => (await display(page).locator('canvas').first().boundingBox())?.height ?? 0)
    .toBeGreaterThan((small?.height ?? 0) * 1.2)
  await page.keyboard.press('Space') // keys still go to the game in fullscreen
  await expect(terminal(page)).toContainText('jump 1')
  await page.evaluate(() => document.exitFullscreen())
  await expect(display(page)).toHaveAttribute('data-fullscreen', 'false')

  // Pop-out: the live picture moves into a window of its own, keys and all, and comes back when it closes.
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.getByTestId('display-popout').click()])
  await expect(popup.locator('[data-testid="display"] canvas').first()).toBeVisible()
  await expect(page.getByTestId('display')).toHaveCount(0)
  await popup.locator('[data-testid="display"] canvas').first().click()
  await popup.keyboard.press('Space')
  await expect(terminal(page)).toContainText('jump 2')
  await popup.close()
  await expect(display(page)).toHaveAttribute('data-phase', 'live')
  await page.getByTestId('mode').click({ timeout: 5000 }) // nothing left over the page swallows clicks
  await expect.poll(async () => (await canvasColors(page, [blue])).blue, { timeout: 10_000 }).toBeGreaterThan(0.25)

  await page.getByTestId('stop').click()
  expect(await focusedPane(page)).not.toBe('stop')
  await expect(page.getByTestId('status')).toHaveText('Stopped')
  await expect(page.getByTestId('display-banner')).toHaveText('Program ended')
})
