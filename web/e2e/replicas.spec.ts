// The IDE through a load balancer (issue 10): HAProxy, round-robin with no stickiness, in front of
// two replicas that know each other (README "Replicas"). A run lives on the replica its session
// socket first reached; after a dropped connection the IDE's resume and its display socket land
// wherever HAProxy sends them, and a replica that does not own the run forwards them to the one
// that does. This spec starts its own stack: IDE page → relay (cut here) → HAProxy → r0 | r1.
import { expect, test, type Page } from '@playwright/test'
import http from 'node:http'
import { canvasColors, openIde, pasteProgram, run, screenshotPath, sentMessages, terminal } from './ide'
import { PYGAME_PROGRAM, blue, green } from './programs'
import { startReplicatedStack, type Replica, type ReplicatedStack } from './servers'

let stack: ReplicatedStack | null = null

test.beforeAll(async () => {
  test.setTimeout(300_000) // two cold backends on a busy machine
  stack = await startReplicatedStack({
    name: 'replicas',
    backendEnv: {
      PYPLAY_POOL_PYTHON: '1',
      PYPLAY_POOL_PYGAME: '1',
      PYPLAY_POOL_TURTLE: '0',
    },
  })
})
test.afterAll(async () => { await stack?.stop() })

const display = (page: Page) => page.getByTestId('display')
const status = (page: Page) => page.getByTestId('status')
/** The replica a run id names: `r-<replica>-…`. */
const ownerOf = (run: string) => /^r-([a-z0-9]+)-/i.exec(run)?.[1] ?? `(no replica in ${run})`

/** Sockets that crossed replicas so far: forwarded resumes and display sockets, summed over all replicas. */
async function forwarded(replicas: Replica[]): Promise<{ resumes: number; displays: number; total: number }> {
  const all = await Promise.all(replicas.map((replica) => replica.metrics()))
  const resumes = all.reduce((sum, m) => sum + (m.pyplay_forwarded_resumes ?? 0), 0)
  const displays = all.reduce((sum, m) => sum + (m.pyplay_forwarded_displays ?? 0), 0)
  return { resumes, displays, total: resumes + displays }
}

/** Which replica answered a GET /healthz through HAProxy (a connection of its own, so it takes a turn of the rotation). */
function healthzServedBy(balancerUrl: string): Promise<string> {
  const { hostname, port } = new URL(balancerUrl)
  return new Promise((resolve, reject) => {
    const request = http.get({ host: hostname, port, path: '/healthz', agent: false, timeout: 5000 }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { body += chunk })
      response.on('end', () => resolve(String((JSON.parse(body) as { replica?: unknown }).replica)))
    })
    request.on('timeout', () => request.destroy(new Error('GET /healthz through HAProxy timed out')))
    request.on('error', reject)
  })
}

/** Turns HAProxy's round-robin (two replicas) so the next connection lands on `target`. */
async function steerNextConnection(balancerUrl: string, target: string): Promise<void> {
  for (let tries = 0; tries < 4; tries++) {
    if (await healthzServedBy(balancerUrl) !== target) return
  }
  throw new Error(`HAProxy kept sending /healthz to ${target}: is it round-robin over two replicas?`)
}

/** The game sees the held right arrow (green) and its release (blue): the picture is live and keys reach it. */
async function keysReachTheGame(page: Page, screenshot?: string): Promise<void> {
  await display(page).locator('canvas').first().click()
  await page.keyboard.down('ArrowRight')
  await expect.poll(async () => (await canvasColors(page, [green])).green, { timeout: 15_000 }).toBeGreaterThan(0.25)
  if (screenshot) await page.screenshot({ path: screenshotPath(screenshot) })
  await page.keyboard.up('ArrowRight')
  await expect.poll(async () => (await canvasColors(page, [blue])).blue, { timeout: 15_000 }).toBeGreaterThan(0.25)
}

/**
 * `print(6*7)` ran to its end: 42 and the server's exit line in the terminal, the IDE ready.
 * (When a program without a window follows a pygame run, the terminal grows as the display pane
 * hides and the IDE sends `resize`, often after the program has ended: the server ignores it.)
 */
async function programPrinted42(page: Page): Promise<void> {
  await expect(terminal(page)).toContainText('42', { timeout: 30_000 })
  await expect(terminal(page)).toContainText('Your program finished.')
  await expect(page.getByTestId('stop')).toBeDisabled()
  await expect(status(page)).toHaveText(/^Finished \(exit code 0\)$/)
  const late = sentMessages(page).filter((m) => m.type === 'resize' || m.type === 'stdin').slice(-3)
  console.log(`[replicas] print(6*7): status "${await status(page).textContent()}"; last resize/stdin sent: ${JSON.stringify(late)}`)
}

test('through HAProxy and two replicas: a game comes back after drops that cross replicas, Stop and Run work, a killed owner is noticed', async ({ page }) => {
  test.setTimeout(240_000)
  const s = stack!
  // The run ids the server announced (`started`), in order.
  const runs: string[] = []
  page.on('websocket', (socket) => {
    if (socket.url().includes('/vnc')) return
    socket.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string') return
      const message = JSON.parse(payload) as { type?: string; run?: string }
      if (message.type === 'started' && message.run) runs.push(message.run)
    })
  })

  // 1. A game runs: the picture appears and a held key changes it.
  await openIde(page, s.ideUrl)
  await pasteProgram(page, PYGAME_PROGRAM)
  await run(page)
  await expect(status(page)).toHaveText(/^Running pygame/, { timeout: 60_000 })
  await expect(display(page)).toHaveAttribute('data-phase', 'live')
  await expect.poll(async () => (await canvasColors(page, [blue])).blue, { timeout: 30_000 }).toBeGreaterThan(0.25)
  await keysReachTheGame(page)
  expect(runs).toHaveLength(1)
  const owner = ownerOf(runs[0]!)
  expect(s.replicas.map((r) => r.name)).toContain(owner)

  // 2. School Wi-Fi drops, again and again. Each time the IDE reopens its session socket (which
  // resumes the run) and then its display socket, and HAProxy deals them out in turn: one lands on
  // the replica that does not own the run, which forwards it to the owner. The picture comes back
  // and keys work, whichever way each socket went. Before each cut the test turns HAProxy's
  // rotation (a /healthz through it) so the session socket lands on the owner on odd cuts (the
  // display socket crosses) and on the other replica on even ones (the resume crosses, and from
  // then on the session socket goes through the other replica): both kinds within 4 cuts.
  const other = s.replicas.find((r) => r.name !== owner)!.name
  const start = await forwarded(s.replicas)
  let now = start
  for (let cut = 1; cut <= 4 && (now.resumes === start.resumes || now.displays === start.displays); cut++) {
    await steerNextConnection(s.backendUrl, cut % 2 === 1 ? owner : other)
    const before = now
    const accepted = s.relay.stats().accepted
    expect(s.relay.drop()).toBeGreaterThanOrEqual(4) // both ends of the session and display connections
    const reconnected = () => {
      const stats = s.relay.stats()
      return stats.accepted >= accepted + 2 && stats.paths.includes('/') && stats.paths.some((p) => p.includes('/vnc?'))
    }
    await expect.poll(reconnected, { timeout: 30_000, message: `cut ${cut}: session and display sockets back through the relay` }).toBe(true)
    await expect(status(page)).toHaveText(/^Running pygame/)
    await expect(display(page)).toHaveAttribute('data-phase', 'live')
    // Green needs new frames from the game after the key: the display is live again, not the kept frame.
    await keysReachTheGame(page, cut === 1 ? 'ide-pygame-replicas.png' : undefined)
    // Both sockets are up by now, and a replica counts a crossing before it relays anything.
    now = await forwarded(s.replicas)
    console.log(`[replicas] cut ${cut}: run ${runs[0]} on ${owner}; forwarded resumes ${before.resumes}→${now.resumes}, displays ${before.displays}→${now.displays}`)
  }
  expect(now.total - start.total, 'sockets that crossed replicas after the cuts').toBeGreaterThan(0)
  expect(now.resumes - start.resumes, 'a resume that crossed replicas').toBeGreaterThan(0)
  expect(now.displays - start.displays, 'a display socket that crossed replicas').toBeGreaterThan(0)
  expect(runs, 'resumed, not restarted').toHaveLength(1)

  // 3. Stop, then a plain Python program runs.
  await page.getByTestId('stop').click()
  await expect(status(page)).toHaveText('Stopped', { timeout: 10_000 })
  await expect(page.getByTestId('stop')).toBeDisabled()
  await expect(display(page)).toHaveAttribute('data-phase', 'ended')
  await pasteProgram(page, 'print(6*7)\n')
  await run(page)
  await programPrinted42(page)
  // (The session socket now goes through the other replica, so this run is still the owner's.)
  console.log(`[replicas] print(6*7) ran as ${runs[runs.length - 1]}`)

  // 4. The replica that runs the game dies (kill -9): the IDE says the program ended within a
  // few seconds, and the next Run works on the replica that is left.
  await pasteProgram(page, PYGAME_PROGRAM)
  await run(page)
  await expect(status(page)).toHaveText(/^Running pygame/, { timeout: 60_000 })
  await expect(display(page)).toHaveAttribute('data-phase', 'live')
  await keysReachTheGame(page)
  const doomed = s.replicas.find((r) => r.name === ownerOf(runs[runs.length - 1]!))!
  expect(doomed, `the owner of ${runs[runs.length - 1]}`).toBeTruthy()
  const survivor = s.replicas.find((r) => r !== doomed)!
  const killedAt = Date.now()
  await doomed.kill()
  // The socket closes with its replica (or with the forwarding one's link to it), the IDE resumes
  // through HAProxy, and the replica that is left answers `gone` for the dead one.
  await expect(status(page)).toHaveText('The program ended while you were offline', { timeout: 5_000 })
  await expect(display(page)).toHaveAttribute('data-phase', 'ended')
  console.log(`[replicas] killed ${doomed.name} (pid ${doomed.pid}); the IDE said so after ${Date.now() - killedAt} ms`)
  const runsBefore = runs.length
  await pasteProgram(page, 'print(6*7)\n')
  await run(page)
  await programPrinted42(page)
  expect(runs.slice(runsBefore).map(ownerOf)).toEqual([survivor.name])
})
