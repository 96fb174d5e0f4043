// A reload during a run reconnects to that run (issue 12 item 3): the tab keeps the resume token in
// sessionStorage, the reloaded page resumes the run, the output is replayed from its start and the
// display reopens with the fresh ticket `resumed` brings.
import { expect, test, type Page } from '@playwright/test'
import { canvasColors, openIde, pasteProgram, run, sentMessages, terminal } from './ide'
import { PYGAME_PROGRAM, blue, green } from './programs'

test.use({ viewport: { width: 1366, height: 768 } })
test.beforeEach(async ({ page }) => { await openIde(page) })

const display = (page: Page) => page.getByTestId('display')

const TICKS = `import time
for i in range(1, 400):
    print("tick", i, flush=True)
    time.sleep(0.25)
`

test('a reload while a Python program runs resumes it: earlier output replayed, new output follows, Stop works', async ({ page }) => {
  await pasteProgram(page, TICKS)
  await run(page)
  await expect(terminal(page)).toContainText('tick 4')
  const runId = await page.evaluate(() => JSON.parse(sessionStorage.getItem('pyplay.resume') ?? '{}').run as string)
  expect(runId).toMatch(/./)

  await page.reload()
  await expect(page.getByTestId('status')).toHaveText(/^Running/)
  await expect(terminal(page)).toContainText('tick 1') // replayed from the start
  await expect(terminal(page)).toContainText('tick 12') // and live again
  const resumes = sentMessages(page, 'resume')
  expect(resumes.at(-1)).toMatchObject({ type: 'resume', run: runId, offset: 0 })
  expect(sentMessages(page, 'run')).toHaveLength(1) // the one before the reload: nothing ran twice

  await page.getByTestId('stop').click()
  await expect(page.getByTestId('status')).toHaveText('Stopped')
  expect(await page.evaluate(() => sessionStorage.getItem('pyplay.resume'))).toBeNull()
  await page.reload() // nothing to resume now
  await expect(page.getByTestId('status')).toHaveText(/Ready/)
})

test('a reload while a game runs reopens its display, and the keys reach the game', async ({ page }) => {
  await pasteProgram(page, PYGAME_PROGRAM)
  await run(page)
  await expect(display(page)).toHaveAttribute('data-phase', 'live')
  await expect.poll(async () => (await canvasColors(page, [blue])).blue, { timeout: 30_000 }).toBeGreaterThan(0.25)

  await page.reload()
  await expect(page.getByTestId('status')).toHaveText(/^Running pygame/)
  await expect(display(page)).toHaveAttribute('data-phase', 'live')
  await expect.poll(async () => (await canvasColors(page, [blue])).blue, { timeout: 30_000 }).toBeGreaterThan(0.25)
  await expect(terminal(page)).toContainText('Hold the right arrow key!') // replayed
  await page.keyboard.down('ArrowRight') // the resumed display has the keys
  await expect.poll(async () => (await canvasColors(page, [green])).green, { timeout: 10_000 }).toBeGreaterThan(0.25)
  await page.keyboard.up('ArrowRight')
  await page.getByTestId('stop').click()
  await expect(page.getByTestId('status')).toHaveText('Stopped')
})
