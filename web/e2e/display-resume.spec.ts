// A game outlives its first display ticket, then the connection drops: the IDE resumes the run and
// the display reconnects with the fresh ticket `resumed` brings (issue 10 item 5, issue 12 item 2).
// This spec starts its own backend with short-lived tickets (the shared one keeps the default
// 60 s, which the other specs' first display connection relies on under load).
import { expect, test, type Page } from '@playwright/test'
import { WebSocket } from 'ws'
import { canvasColors, openIde, pasteProgram, run, screenshotPath } from './ide'
import { PYGAME_PROGRAM, blue, green } from './programs'
import { startStack, type Stack } from './servers'

const TICKET_SECONDS = 3

let stack: Stack | null = null

test.beforeAll(async () => {
  test.setTimeout(240_000) // a cold backend on a busy machine
  stack = await startStack({
    name: 'tickets',
    backendEnv: {
      PYPLAY_TICKET_SECONDS: String(TICKET_SECONDS),
      PYPLAY_POOL_PYTHON: '0',
      PYPLAY_POOL_TURTLE: '0',
      PYPLAY_POOL_PYGAME: '1',
    },
  })
})
test.afterAll(async () => { await stack?.stop() })

const display = (page: Page) => page.getByTestId('display')
const ticketOf = (url: string) => new URL(url).searchParams.get('ticket')

/** The close code the backend answers a display socket for `url` with (4404: unknown run or expired ticket). */
function displayCloseCode(url: string, origin: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, ['binary'], { origin })
    socket.on('open', () => socket.close()) // the ticket was still good
    socket.on('error', () => { /* a close event follows, with 1006 */ })
    socket.on('close', (code) => resolve(code))
  })
}

test('after the first display ticket expired, a dropped connection resumes: the picture and the keys come back', async ({ page }) => {
  const s = stack!
  const displaySockets: string[] = []
  page.on('websocket', (socket) => { if (socket.url().includes('/vnc')) displaySockets.push(socket.url()) })
  await openIde(page, s.ideUrl)
  await pasteProgram(page, PYGAME_PROGRAM)
  await run(page)
  await expect(display(page)).toHaveAttribute('data-phase', 'live')
  // The ticket was issued before `started`, so before this moment.
  const expiresBy = Date.now() + TICKET_SECONDS * 1000
  await expect.poll(async () => (await canvasColors(page, [blue])).blue, { timeout: 30_000 }).toBeGreaterThan(0.25)
  // (A display socket that closes while the session is up is reopened with the same ticket.)
  const firstUrl = displaySockets[0]!
  const firstTicket = ticketOf(firstUrl)

  // Wait out the first ticket: a genuine time requirement, then the server's word that it is gone.
  await expect.poll(() => Date.now(), { timeout: TICKET_SECONDS * 1000 + 10_000, intervals: [100] }).toBeGreaterThan(expiresBy)
  const direct = new URL(new URL(firstUrl).pathname + new URL(firstUrl).search, s.backendUrl).toString()
  await expect.poll(() => displayCloseCode(direct, s.ideUrl), { timeout: 10_000 }).toBe(4404)

  // School Wi-Fi drops: the session socket and the display socket both go.
  await expect(display(page)).toHaveAttribute('data-phase', 'live')
  expect(displaySockets.map(ticketOf)).toEqual(displaySockets.map(() => firstTicket))
  const before = s.relay.stats()
  expect(before.paths).toContain('/')
  expect(s.relay.drop()).toBeGreaterThanOrEqual(4) // both ends of each connection
  // The IDE reconnects both through the relay: the session socket, and the display socket with a
  // fresh ticket (not the expired one).
  const reconnected = () => {
    const { paths } = s.relay.stats()
    return paths.includes('/') && paths.some((path) => path.includes('/vnc?') && ticketOf(`ws://h${path}`) !== firstTicket)
  }
  await expect.poll(reconnected, { timeout: 30_000, message: 'relay: session and fresh display sockets' }).toBe(true)
  expect(s.relay.stats().accepted).toBeGreaterThanOrEqual(before.accepted + 2)
  await expect(page.getByTestId('status')).toHaveText(/^Running pygame/)
  await expect(display(page)).toHaveAttribute('data-phase', 'live')
  const fresh = displaySockets.filter((url) => ticketOf(url) !== firstTicket)
  expect(fresh.length, `display sockets: ${displaySockets.join(', ')}`).toBeGreaterThanOrEqual(1)
  expect(ticketOf(displaySockets[displaySockets.length - 1]!)).not.toBe(firstTicket)

  // The picture is live again (new frames), and keys reach the game: green while the arrow is held.
  await expect.poll(async () => (await canvasColors(page, [blue])).blue, { timeout: 10_000 }).toBeGreaterThan(0.25)
  await display(page).locator('canvas').first().click()
  await page.keyboard.down('ArrowRight')
  await expect.poll(async () => (await canvasColors(page, [green])).green, { timeout: 10_000 }).toBeGreaterThan(0.25)
  await page.screenshot({ path: screenshotPath('ide-pygame-resumed.png') })
  await page.keyboard.up('ArrowRight')
  await expect.poll(async () => (await canvasColors(page, [blue])).blue, { timeout: 10_000 }).toBeGreaterThan(0.25)

  await page.getByTestId('stop').click()
  await expect(page.getByTestId('status')).toHaveText('Stopped')
  console.log(`[display-resume] display sockets: ${displaySockets.length}; relay: ${JSON.stringify(s.relay.stats())}`)
})

test('a 5 s outage mid-game: the last frame stays under "Reconnecting…" with Stop usable, then the picture and the keys come back', async ({ page }) => {
  const s = stack!
  await openIde(page, s.ideUrl)
  await pasteProgram(page, PYGAME_PROGRAM)
  await run(page)
  await expect(display(page)).toHaveAttribute('data-phase', 'live')
  await expect.poll(async () => (await canvasColors(page, [blue])).blue, { timeout: 30_000 }).toBeGreaterThan(0.25)
  // Outlive the first ticket (the server's ticket_seconds, shortened for this spec's backend).
  const started = Date.now()
  await expect.poll(() => Date.now() - started, { timeout: TICKET_SECONDS * 1000 + 5000, intervals: [250] })
    .toBeGreaterThan(TICKET_SECONDS * 1000 + 500)

  const accepted = s.relay.stats().accepted
  expect(s.relay.cut(5000)).toBeGreaterThanOrEqual(4) // every connection closes, and new ones too, for 5 s
  await expect(page.getByTestId('display-reconnecting')).toBeVisible()
  await expect(page.getByTestId('status')).toHaveText(/reconnecting/i)
  await expect(page.getByTestId('stop')).toBeEnabled()
  expect((await canvasColors(page, [blue])).blue).toBeGreaterThan(0.25) // the last frame, not a blank pane

  await expect(page.getByTestId('status')).toHaveText(/^Running pygame/, { timeout: 30_000 })
  await expect(display(page)).toHaveAttribute('data-phase', 'live', { timeout: 30_000 })
  await expect(page.getByTestId('display-reconnecting')).toBeHidden()
  expect(s.relay.stats().accepted).toBeGreaterThanOrEqual(accepted + 2)
  await page.keyboard.down('ArrowRight') // the picture had the keys before the cut, and has them again
  await expect.poll(async () => (await canvasColors(page, [green])).green, { timeout: 10_000 }).toBeGreaterThan(0.25)
  await page.keyboard.up('ArrowRight')
  await page.getByTestId('stop').click()
  await expect(page.getByTestId('status')).toHaveText('Stopped')
})
