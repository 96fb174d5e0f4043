// The editor and terminal a class relies on: traceback links, the failing line, file names, the
// tab strip, the terminal's tools and the keyboard (issue 12, items 7 and 10).
import { AxeBuilder } from '@axe-core/playwright'
import { expect, test, type Page } from '@playwright/test'
import { editorText, fileTabNames, newProjectFrom, openIde, pasteProgram, run, terminal } from './ide'

test.use({ viewport: { width: 1366, height: 768 } })
test.beforeEach(async ({ page }) => { await openIde(page) })

const activeLine = (page: Page) => page.locator('[data-testid="editor"] .cm-activeLine')

/** Clicks the middle of `text` where it is drawn in the terminal (xterm's DOM renderer). */
async function clickTerminalText(page: Page, text: string): Promise<void> {
  const row = terminal(page).locator('div', { hasText: text }).last()
  const box = await row.evaluate((el, wanted) => {
    const range = document.createRange()
    const node = [...el.querySelectorAll('span'), el].flatMap((e) => [...e.childNodes]).find((n) => n.nodeType === 3 && n.textContent!.includes(wanted))!
    const at = node.textContent!.indexOf(wanted)
    range.setStart(node, at)
    range.setEnd(node, at + wanted.length)
    const rect = range.getBoundingClientRect()
    return { x: rect.x + rect.width / 2, y: rect.y + rect.height / 2 }
  }, text)
  await page.mouse.move(box.x, box.y - 3)
  await page.mouse.move(box.x, box.y)
  await page.mouse.click(box.x, box.y)
}

test('a traceback line is a link to its file and line, and the failing line is marked', async ({ page }) => {
  await newProjectFrom(page, 'multi-file')
  await page.getByTestId('file-tab').filter({ hasText: 'helpers.py' }).click()
  await pasteProgram(page, 'def average(numbers):\n    total = sum(numbers)\n    return total / 0\n\n\ndef banner(t):\n    print(t)\n\n\ndef bar(n):\n    return "#" * n\n')
  await page.getByTestId('file-tab').filter({ hasText: 'main.py' }).click()
  await run(page)
  await expect(terminal(page)).toContainText('ZeroDivisionError')
  await expect(page.getByTestId('go-to-error')).toHaveText('Go to helpers.py, line 3')

  await clickTerminalText(page, 'main.py", line 8')
  await expect(page.locator('[role="tab"][aria-selected="true"]')).toContainText('main.py')
  await expect(activeLine(page)).toHaveText('print(f"Average: {average(list(scores.values())):.1f}")')

  await clickTerminalText(page, 'helpers.py", line 3')
  await expect(page.locator('[role="tab"][aria-selected="true"]')).toContainText('helpers.py')
  await expect(activeLine(page)).toHaveText('    return total / 0')
  await expect(page.getByTestId('failing-line')).toHaveText('    return total / 0')
  await page.keyboard.type('1 + ')
  await expect(page.getByTestId('failing-line')).toHaveCount(0)
})

test('"+" makes helper.py from helper or helper.py; the tab strip shows it overflows and the upload button stays visible', async ({ page }) => {
  for (const typed of ['helper', 'tools.py', 'more', 'levels.py', 'sprites', 'sounds', 'scores']) {
    await page.getByRole('button', { name: 'New file' }).click()
    await page.getByRole('textbox', { name: 'New file name' }).fill(typed)
    await page.keyboard.press('Enter')
  }
  expect(await fileTabNames(page)).toEqual(['main.py', 'helper.py', 'tools.py', 'more.py', 'levels.py', 'sprites.py', 'sounds.py', 'scores.py'])
  await expect(page.getByTestId('tabs-overflow')).toHaveText('8 files')
  const upload = page.getByRole('button', { name: 'Add an image or sound' })
  const card = await page.locator('.editor-card').boundingBox()
  const button = await upload.boundingBox()
  expect(button!.x + button!.width).toBeLessThanOrEqual(card!.x + card!.width)
  await upload.click({ trial: true }) // nothing covers it

  await page.getByTestId('file-tab').filter({ hasText: 'tools.py' }).dblclick()
  await page.getByRole('textbox', { name: 'File name' }).fill('toolbox')
  await page.keyboard.press('Enter')
  await expect.poll(() => fileTabNames(page)).toContain('toolbox.py')
  await pasteProgram(page, 'def tool():\n    return "hammer"\n')
  await page.getByTestId('file-tab').filter({ hasText: 'main.py' }).click()
  await pasteProgram(page, 'from toolbox import tool\nprint("got", tool())\n')
  await run(page)
  await expect(terminal(page)).toContainText('got hammer')
})

test('file tabs are a keyboard tablist: arrows, Home, End, F2', async ({ page }) => {
  await newProjectFrom(page, 'pygame-game')
  const tabs = page.getByRole('tab')
  await expect(tabs).toHaveCount(3)
  await expect(page.locator('[role="tab"][tabindex="0"]')).toHaveCount(1)
  await tabs.first().focus()
  await page.keyboard.press('ArrowRight')
  await expect(page.getByRole('tab', { name: 'player.png' })).toBeFocused()
  await expect(page.getByRole('tab', { name: 'player.png' })).toHaveAttribute('aria-selected', 'true')
  await expect(page.getByRole('img', { name: 'player.png' })).toBeVisible()
  await page.keyboard.press('End')
  await expect(page.getByRole('tab', { name: 'coin.wav' })).toBeFocused()
  await page.keyboard.press('ArrowRight')
  await expect(page.getByRole('tab', { name: /main\.py/ })).toBeFocused()
  await page.keyboard.press('F2')
  await expect(page.getByRole('textbox', { name: 'File name' })).toBeFocused()
  await page.keyboard.press('Escape')
  await expect(page.getByRole('tab', { name: /main\.py/ })).toBeFocused()
  await page.keyboard.press('Tab') // one Tab leaves the tablist for the open file's actions
  await expect(page.getByRole('button', { name: 'Rename file' })).toBeFocused()
})

test('terminal tools: clear, a remembered font size and screen reader mode; a remembered line wrap', async ({ page }) => {
  await pasteProgram(page, `print("${'x'.repeat(300)}")\nprint("done")\n`)
  await run(page)
  await expect(terminal(page)).toContainText('done')
  await page.getByTestId('terminal-clear').click()
  await expect(terminal(page)).not.toContainText('done')

  const fontSize = () => page.locator('[data-testid="terminal"] .xterm-rows').evaluate((el) => getComputedStyle(el).fontSize)
  expect(await fontSize()).toBe('14px')
  await page.getByTestId('terminal-larger').click()
  await page.getByTestId('terminal-larger').click()
  expect(await fontSize()).toBe('18px')
  await page.getByTestId('screen-reader').click()
  await expect(page.getByTestId('screen-reader')).toHaveAttribute('aria-pressed', 'true')
  await expect(page.locator('[data-testid="terminal"] .xterm-accessibility-tree')).toHaveCount(1)

  const lines = () => page.locator('[data-testid="editor"] .cm-line').first().evaluate((el) => el.getBoundingClientRect().height)
  const oneLine = await lines()
  await page.getByTestId('line-wrap').click()
  expect(await lines()).toBeGreaterThan(oneLine * 2)

  await page.reload()
  await expect(page.getByTestId('status')).toHaveText(/Ready/, { timeout: 30_000 })
  expect(await fontSize()).toBe('18px')
  await expect(page.getByTestId('screen-reader')).toHaveAttribute('aria-pressed', 'true')
  await expect(page.getByTestId('line-wrap')).toHaveAttribute('aria-pressed', 'true')
  expect(await editorText(page)).toContain('print("xxx')
})

test('axe finds no serious accessibility problems in the IDE, its menu and dialogs', async ({ page }) => {
  const serious = async () => {
    const { violations } = await new AxeBuilder({ page }).analyze()
    return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)
  }
  await pasteProgram(page, 'print("hello")\n1 / 0\n')
  await run(page)
  await expect(terminal(page)).toContainText('ZeroDivisionError')
  expect(await serious()).toEqual([])
  await page.getByTestId('theme-toggle').click()
  expect(await serious()).toEqual([])
  await page.getByTestId('project-menu').click()
  expect(await serious()).toEqual([])
  await page.getByTestId('share').click()
  expect(await serious()).toEqual([])
  await page.keyboard.press('Escape')
  await page.getByTestId('new-project').click()
  expect(await serious()).toEqual([])
})
