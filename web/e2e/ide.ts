// What a student does in the IDE, as Playwright steps, and what the tests read back.
import { expect, type Page } from '@playwright/test'
import path from 'node:path'
import { OUTPUT_DIR } from './paths'

export const screenshotPath = (name: string) => path.join(OUTPUT_DIR, name)

export function ideUrl(): string {
  const url = process.env.PYPLAY_E2E_IDE_URL
  if (!url) throw new Error('PYPLAY_E2E_IDE_URL is unset: run through playwright.config.ts (global-setup starts the servers)')
  return url
}

/** The JSON messages each page sent on its session socket(s), in order (recorded by openIde). */
const sessionMessages = new WeakMap<Page, Record<string, unknown>[]>()

/** What the page has sent on its session socket so far, optionally only messages of one type. */
export function sentMessages(page: Page, type?: string): Record<string, unknown>[] {
  return (sessionMessages.get(page) ?? []).filter((m) => type === undefined || m.type === type)
}

/** Opens the IDE (global-setup's, or `url`: a spec's own stack) with an empty local storage. */
export async function openIde(page: Page, url: string = ideUrl()): Promise<void> {
  // The browser's own complaints end up in the test log, next to the failure they explain.
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') console.log(`[browser ${message.type()}] ${message.text()}`)
  })
  page.on('pageerror', (error) => console.log(`[browser pageerror] ${error.message}`))
  const sessionSent: Record<string, unknown>[] = []
  sessionMessages.set(page, sessionSent)
  page.on('websocket', (socket) => {
    if (!socket.url().includes('/vnc')) {
      socket.on('framesent', ({ payload }) => { if (typeof payload === 'string') sessionSent.push(JSON.parse(payload)) })
      return
    }
    let received = 0
    let sent = 0
    socket.on('framereceived', () => { received += 1 })
    socket.on('framesent', () => { sent += 1 })
    socket.on('socketerror', (error) => console.log(`[display socket] error: ${error}`))
    socket.on('close', () => console.log(`[display socket] closed after ${received} frames received, ${sent} sent`))
  })
  // Once per tab: a reload in the test keeps what the page saved, as it does for a student.
  await page.addInitScript(() => {
    if (sessionStorage.getItem('pyplay.e2e.cleared')) return
    localStorage.clear()
    sessionStorage.setItem('pyplay.e2e.cleared', '1')
  })
  await page.goto(url)
  await expect(page.getByTestId('status')).toHaveText(/Ready/, { timeout: 30_000 })
}

/** Replaces the editor's text as a paste would (no auto-indent or bracket closing). */
export async function pasteProgram(page: Page, code: string): Promise<void> {
  await page.locator('[data-testid="editor"] .cm-content').click()
  await page.keyboard.press('ControlOrMeta+A')
  await page.keyboard.press('Delete')
  await page.keyboard.insertText(code)
}

export async function editorText(page: Page): Promise<string> {
  return page.locator('[data-testid="editor"] .cm-content').evaluate((el) =>
    Array.from(el.querySelectorAll('.cm-line')).map((line) => line.textContent ?? '').join('\n'))
}

export async function chooseMode(page: Page, mode: 'auto' | 'python' | 'pygame' | 'turtle'): Promise<void> {
  await page.getByTestId('mode').selectOption(mode)
}

export function terminal(page: Page) {
  return page.locator('[data-testid="terminal"] .xterm-rows')
}

export async function run(page: Page): Promise<void> {
  await page.getByTestId('run').click()
}

export interface ColorTarget { name: string; rgb: [number, number, number]; tolerance: number }

/** Fraction of the display canvas's pixels near each target colour (reads the real canvas). */
export async function canvasColors(page: Page, targets: ColorTarget[]): Promise<Record<string, number> & { pixels: number }> {
  return page.locator('[data-testid="display"] canvas').first().evaluate((canvas: HTMLCanvasElement, wanted: ColorTarget[]) => {
    const context = canvas.getContext('2d')
    const result: Record<string, number> = { pixels: canvas.width * canvas.height }
    if (!context || canvas.width === 0 || canvas.height === 0) return result as never
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height)
    const counts = wanted.map(() => 0)
    for (let i = 0; i < data.length; i += 4) {
      wanted.forEach((t, k) => {
        if (Math.abs(data[i]! - t.rgb[0]) <= t.tolerance && Math.abs(data[i + 1]! - t.rgb[1]) <= t.tolerance && Math.abs(data[i + 2]! - t.rgb[2]) <= t.tolerance) counts[k]! += 1
      })
    }
    wanted.forEach((t, k) => { result[t.name] = counts[k]! / (canvas.width * canvas.height) })
    return result as never
  }, targets)
}

/** The project's file tabs' names, in order. */
export async function fileTabNames(page: Page): Promise<string[]> {
  return (await page.getByTestId('file-tab').allInnerTexts()).map((t) => t.replace('▶', '').trim())
}

/** Starts a new project from a starter template (lib/templates.ts id). */
export async function newProjectFrom(page: Page, template: string): Promise<void> {
  await page.getByTestId('new-project').click()
  await page.getByTestId(`template-${template}`).click()
  await expect(page.getByTestId('new-project-dialog')).toBeHidden()
}

/** Opens the project menu and picks one of its items (ProjectBar.vue test ids). */
export async function projectMenu(page: Page, item: string): Promise<void> {
  await page.getByTestId('project-menu').click()
  await page.getByTestId(item).click()
}
