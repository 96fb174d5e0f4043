// The student's work is never lost: saved at once, shared between tabs, several projects, assets
// in IndexedDB, a failed save shown, share links and .zip files (issue 12, items 3 and 5).
import { readFileSync } from 'node:fs'
import { expect, test } from '@playwright/test'
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate'
import { createHash } from 'node:crypto'
import { playerSprite } from '../lib/template-assets'
import { editorText, fileTabNames, ideUrl, newProjectFrom, openIde, pasteProgram, projectMenu, run, terminal } from './ide'

test.use({ viewport: { width: 1366, height: 768 } })

const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex')
const editor = (page: import('@playwright/test').Page) => page.locator('[data-testid="editor"] .cm-content')

test('an edit typed just before a reload is kept', async ({ page }) => {
  await openIde(page)
  await pasteProgram(page, 'print("first")\n')
  await page.keyboard.type('# typed last')
  const typed = Date.now()
  const reloading = page.reload() // at once: no wait for any save timer (it was 400 ms)
  console.log(`[reload] issued ${Date.now() - typed} ms after the last keystroke`)
  await reloading
  await expect(page.getByTestId('status')).toHaveText(/Ready/, { timeout: 30_000 })
  expect(await editorText(page)).toBe('print("first")\n# typed last')
})

test('two tabs of one project see each other\'s edits and say the project is open elsewhere', async ({ page, context }) => {
  await openIde(page)
  await pasteProgram(page, 'print("from tab one")\n')
  const second = await context.newPage()
  await second.goto(ideUrl())
  await expect(second.getByTestId('status')).toHaveText(/Ready/, { timeout: 30_000 })
  await expect(second.getByTestId('open-elsewhere')).toBeVisible()
  await expect(page.getByTestId('open-elsewhere')).toBeVisible()
  expect(await editorText(second)).toBe('print("from tab one")\n')

  await editor(second).click()
  await second.keyboard.press('ControlOrMeta+End')
  await second.keyboard.type('# from tab two')
  await expect.poll(() => editorText(page)).toBe('print("from tab one")\n# from tab two')
  await editor(page).click()
  await page.keyboard.press('ControlOrMeta+Home')
  await page.keyboard.type('# top\n')
  await expect.poll(() => editorText(second)).toBe('# top\nprint("from tab one")\n# from tab two')

  await page.getByRole('button', { name: 'New file' }).click()
  await page.getByRole('textbox', { name: 'New file name' }).fill('helper')
  await page.keyboard.press('Enter')
  await expect.poll(() => fileTabNames(second)).toEqual(['main.py', 'helper.py'])
  await second.close()
  await expect(page.getByTestId('open-elsewhere')).toBeHidden()
})

test('several projects: new from a template, rename, switch, reset to template, delete', async ({ page }) => {
  page.on('dialog', (dialog) => void (dialog.type() === 'prompt' ? dialog.accept('My quiz') : dialog.accept()))
  await openIde(page)
  await pasteProgram(page, 'print("first project")\n')
  const first = await page.getByTestId('project').inputValue()
  await newProjectFrom(page, 'quiz')
  await expect(page.getByTestId('project').locator('option:checked')).toHaveText('Quiz')
  expect(await editorText(page)).toContain('questions = [')
  await projectMenu(page, 'rename-project')
  await expect(page.getByTestId('project').locator('option:checked')).toHaveText('My quiz')
  await pasteProgram(page, 'print("changed")\n')

  await page.getByTestId('project').selectOption(first)
  expect(await editorText(page)).toBe('print("first project")\n')
  await page.getByTestId('project').selectOption({ label: 'My quiz' })
  expect(await editorText(page)).toBe('print("changed")\n')
  await projectMenu(page, 'reset-project')
  await expect.poll(() => editorText(page)).toContain('questions = [')

  await page.getByTestId('project-menu').click()
  await page.keyboard.press('Escape') // the menu closes as a menu does, by Escape or a click elsewhere
  await expect(page.getByTestId('share')).toBeHidden()
  await expect(page.getByTestId('project-menu')).toBeFocused()
  await page.getByTestId('project-menu').click()
  await page.getByTestId('terminal').click()
  await expect(page.getByTestId('share')).toBeHidden()

  await page.reload()
  await expect(page.getByTestId('project').locator('option:checked')).toHaveText('My quiz')
  await projectMenu(page, 'delete-project')
  await expect(page.getByTestId('project').locator('option')).toHaveCount(1)
  expect(await editorText(page)).toBe('print("first project")\n')
})

test('an uploaded image lives in IndexedDB, not localStorage, and is there after a reload', async ({ page }) => {
  await openIde(page)
  const png = playerSprite()
  await page.locator('input[type="file"][accept^="image"]').setInputFiles({ name: 'player.png', mimeType: 'image/png', buffer: Buffer.from(png) })
  await expect.poll(() => fileTabNames(page)).toEqual(['main.py', 'player.png'])
  await page.reload()
  await expect(page.getByTestId('status')).toHaveText(/Ready/, { timeout: 30_000 })
  await expect.poll(() => fileTabNames(page)).toEqual(['main.py', 'player.png'])
  const local = await page.evaluate(() => JSON.stringify({ ...localStorage }))
  expect(local).toContain('player.png')
  expect(local).not.toContain(Buffer.from(png).toString('base64').slice(0, 40))
  await page.getByTestId('file-tab').filter({ hasText: 'main.py' }).click()
  await pasteProgram(page, 'import hashlib\nprint("md5", hashlib.md5(open("player.png", "rb").read()).hexdigest())\n')
  await run(page)
  await expect(terminal(page)).toContainText(`md5 ${md5(png)}`)
})

test('a save the browser refuses is shown to the student', async ({ page }) => {
  await openIde(page)
  await page.evaluate(() => { // fill this origin's localStorage to its quota
    const block = 'x'.repeat(256 * 1024)
    for (let i = 0; ; i++) { try { localStorage.setItem(`filler${i}`, block) } catch { break } }
    for (let size = 128 * 1024; size >= 1; size = Math.floor(size / 2)) { try { localStorage.setItem(`small${size}`, 'x'.repeat(size)) } catch { /* next size */ } }
  })
  await editor(page).click()
  await page.keyboard.type('# this edit does not fit')
  await expect(page.getByTestId('save-problem')).toContainText('could not be saved')
  await page.evaluate(() => { for (const key of Object.keys(localStorage)) if (key.startsWith('filler')) localStorage.removeItem(key) })
  await page.keyboard.type('!')
  await expect(page.getByTestId('save-problem')).toBeHidden()
})

test('a share link carries a project with an image into another browser as its own copy', async ({ page, browser }) => {
  await openIde(page)
  await newProjectFrom(page, 'pygame-game')
  await pasteProgram(page, 'import hashlib\nprint("md5", hashlib.md5(open("player.png", "rb").read()).hexdigest(), len(open("coin.wav", "rb").read()))\n')
  await projectMenu(page, 'share')
  const url = await page.getByTestId('share-url').inputValue()
  expect(url).toContain('#share=')

  const other = await browser.newContext({ viewport: { width: 1366, height: 768 } })
  const friend = await other.newPage()
  await friend.goto(url)
  await expect(friend.getByTestId('status')).toHaveText(/Ready/, { timeout: 30_000 })
  await expect(friend.getByTestId('notice')).toContainText('your own copy')
  await expect(friend.getByTestId('project').locator('option:checked')).toHaveText('Coin catcher game')
  expect(new URL(friend.url()).hash).toBe('')
  await expect.poll(() => fileTabNames(friend)).toEqual(['main.py', 'player.png', 'coin.wav'])
  await friend.getByTestId('mode').selectOption('python')
  await friend.getByTestId('run').click()
  await expect(terminal(friend)).toContainText(`md5 ${md5(playerSprite())} `)
  await other.close()
})

test('a project too big for a link says so and offers the .zip', async ({ page }) => {
  await openIde(page)
  let seed = 7
  const noise = Array.from({ length: 60_000 }, () => String.fromCharCode(97 + ((seed = (seed * 48271) % 2147483647) % 26))).join('')
  await pasteProgram(page, `DATA = "${noise}"\n`)
  await projectMenu(page, 'share')
  await expect(page.getByTestId('share-too-big')).toContainText('too big for a link')
  const download = page.waitForEvent('download')
  await page.getByRole('button', { name: 'Download .zip' }).click()
  expect((await download).suggestedFilename()).toMatch(/\.zip$/)
})

test('a project downloads as a .zip and a .zip uploads as a new project', async ({ page }) => {
  await openIde(page)
  await newProjectFrom(page, 'multi-file')
  const downloading = page.waitForEvent('download')
  await projectMenu(page, 'download-zip')
  const download = await downloading
  expect(download.suggestedFilename()).toBe('Two-files.zip')
  const unzipped = unzipSync(new Uint8Array(readFileSync(await download.path())))
  expect(Object.keys(unzipped)).toEqual(['main.py', 'helpers.py'])
  expect(strFromU8(unzipped['helpers.py']!)).toContain('def average(numbers):')

  // The student edits the zip elsewhere and brings it back.
  unzipped['main.py'] = strToU8('from helpers import average\nprint("back from zip", average([1, 2]))\n')
  unzipped['sprite.png'] = new Uint8Array(playerSprite())
  await page.getByTestId('zip-input').setInputFiles({ name: 'homework.zip', mimeType: 'application/zip', buffer: Buffer.from(zipSync(unzipped)) })
  await expect(page.getByTestId('project').locator('option:checked')).toHaveText('homework')
  await expect.poll(() => fileTabNames(page)).toEqual(['main.py', 'helpers.py', 'sprite.png'])
  await run(page)
  await expect(terminal(page)).toContainText('back from zip 1.5')

  await page.getByTestId('zip-input').setInputFiles({ name: 'notes.zip', mimeType: 'application/zip', buffer: Buffer.from('not a zip') })
  await expect(page.getByTestId('notice')).toContainText('not a .zip archive')
})
