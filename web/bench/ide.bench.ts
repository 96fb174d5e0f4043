// What the IDE adds to a warm run, and how many frames the display draws (issue 12 items 6 and 9).
//
// 1. Click on Run -> the program's first output visible in the terminal (xterm.js's DOM rows
//    changed, in the animation frame that paints them), 10 runs paced 3 s apart and 10 back to back, beside the
//    service's own figure measured in the same run: `run` message -> first output byte at a
//    WebSocket client on this machine, on one warm session. User Timing marks the IDE sets
//    (pyplay:run, pyplay:started, pyplay:first-output) split the IDE's time into its parts.
// 2. The frames the display draws: display.bench.ts.
import { expect, test, type Page } from '@playwright/test'
import { WebSocket } from 'ws'
import { openIde, pasteProgram, terminal } from '../e2e/ide'
import { startStack, type Stack } from '../e2e/servers'
import { median, summary, table } from './stats'

const RUNS = Number(process.env.PYPLAY_BENCH_RUNS) || 10
const PACE_MS = 3000
const MARKER = 'zq-out'
// Each run prints a line of its own, so the bench tells it from the last run's still on screen.
const PROGRAM = `import time\nprint("${MARKER}", time.time_ns())\n`

let stack: Stack | null = null
test.beforeAll(async () => {
  test.setTimeout(300_000)
  stack = await startStack({ name: 'bench' })
})
test.afterAll(async () => { await stack?.stop() })

interface Timing { click: number; run: number; started: number; firstOutput: number; visible: number }

/** Arms the page: the next click on Run is timed until that run's MARKER line is in the terminal's rows. */
async function arm(page: Page): Promise<void> {
  await page.evaluate((marker) => {
    const scope = window as unknown as { benchTiming?: Promise<Timing> }
    performance.clearMarks()
    const button = document.querySelector('[data-testid="run"]')!
    const rows = document.querySelector('[data-testid="terminal"] .xterm-rows')!
    const line = new RegExp(`${marker} (\\d+)`)
    const before = line.exec(rows.textContent ?? '')?.[1]
    scope.benchTiming = new Promise((resolve) => {
      let click = NaN
      button.addEventListener('click', (event) => { click = event.timeStamp }, { capture: true, once: true })
      const observer = new MutationObserver(() => {
        const printed = line.exec(rows.textContent ?? '')?.[1]
        if (printed === undefined || printed === before || Number.isNaN(click)) return
        // xterm.js changes its rows in an animation frame callback: the browser paints them in that frame.
        const visible = performance.now()
        observer.disconnect()
        const mark = (name: string) => performance.getEntriesByName(name).at(-1)?.startTime ?? NaN
        resolve({ click, run: mark('pyplay:run'), started: mark('pyplay:started'), firstOutput: mark('pyplay:first-output'), visible })
      })
      observer.observe(rows, { childList: true, subtree: true, characterData: true })
    })
  }, MARKER)
}

async function timedRun(page: Page): Promise<Timing> {
  await arm(page)
  await page.getByTestId('run').click()
  const timing = await page.evaluate(() => Promise.race([
    (window as unknown as { benchTiming: Promise<Timing> }).benchTiming,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(
      `no output within 30 s; terminal: ${document.querySelector('[data-testid="terminal"] .xterm-rows')?.textContent}`)), 30_000)),
  ]))
  await expect(page.getByTestId('status')).toHaveText(/Finished/)
  return timing
}

interface ServiceTiming { started: number; firstByte: number }

/**
 * The service alone: `run` -> `started` and -> first output byte on one warm session, from a
 * WebSocket client in this process at `url` (the backend itself, or through the bench's relay).
 */
async function serviceTimes(s: Stack, url: string, runs: number, paceMs: number): Promise<ServiceTiming[]> {
  const socket = new WebSocket(url, { origin: s.ideUrl })
  await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject) })
  const runOnce = () => new Promise<ServiceTiming>((resolve) => {
    let began = 0
    const timing: ServiceTiming = { started: NaN, firstByte: NaN }
    const onMessage = (data: Buffer, binary: boolean) => {
      const at = performance.now() - began
      if (binary) { if (Number.isNaN(timing.firstByte)) timing.firstByte = at; return }
      const type = JSON.parse(data.toString()).type
      if (type === 'started') timing.started = at
      if (type === 'exit') { socket.off('message', onMessage); resolve(timing) }
    }
    socket.on('message', onMessage)
    began = performance.now()
    socket.send(JSON.stringify({ type: 'run', mode: 'python', entry: 'main.py', files: [{ path: 'main.py', text: PROGRAM }], term: { cols: 80, rows: 24 } }))
  })
  const times: ServiceTiming[] = []
  for (let i = 0; i < runs + 2; i++) {
    const t = await runOnce()
    if (i >= 2) times.push(t) // the first two warm the session's sandbox
    if (paceMs) await new Promise((resolve) => setTimeout(resolve, paceMs))
  }
  socket.close()
  return times
}

test('click on Run -> first output visible, beside the service\'s own run -> first byte', async ({ page }) => {
  const s = stack!
  await openIde(page, s.ideUrl)
  await pasteProgram(page, PROGRAM)
  await page.getByTestId('mode').selectOption('python')
  for (let i = 0; i < 2; i++) await timedRun(page) // warm: the session's sandbox, the page's code paths
  const paced: Timing[] = []
  for (let i = 0; i < RUNS; i++) { await page.waitForTimeout(PACE_MS); paced.push(await timedRun(page)) }
  const backToBack: Timing[] = []
  for (let i = 0; i < RUNS; i++) backToBack.push(await timedRun(page))
  await expect(terminal(page)).toContainText(MARKER)

  // The IDE reaches the backend through the bench's TCP relay (e2e/relay.ts), a hop a deployment
  // does not have: the service is measured both ways, so the relay's own cost shows.
  const relayed = `ws://127.0.0.1:${s.relay.port}`
  const service = {
    paced: await serviceTimes(s, s.backendUrl, RUNS, PACE_MS),
    backToBack: await serviceTimes(s, s.backendUrl, RUNS, 0),
    relayedPaced: await serviceTimes(s, relayed, RUNS, PACE_MS),
  }
  const total = (t: Timing) => t.visible - t.click
  const part = (list: Timing[], a: keyof Timing, b: keyof Timing) => median(list.map((t) => t[b] - t[a])).toFixed(1)
  const firstByte = (list: ServiceTiming[]) => list.map((t) => t.firstByte)
  const headers = ['path', 'runs', 'median ms', 'p95 ms', 'p99 ms', 'worst ms']
  console.log(`\n${table('Run -> first output, print("…"), warm session (Chromium, 1366x768)', headers, [
    summary('service: run message -> first byte, paced 3 s (baseline)', firstByte(service.paced)),
    summary('service: run message -> first byte, back to back (baseline)', firstByte(service.backToBack)),
    summary('service through the bench\'s relay: run -> first byte, paced 3 s', firstByte(service.relayedPaced)),
    summary('IDE: click -> output visible, paced 3 s', paced.map(total)),
    summary('IDE: click -> output visible, back to back', backToBack.map(total)),
  ])}`)
  const serviceRow = (name: string, list: ServiceTiming[]) => {
    const started = median(list.map((t) => t.started))
    return [name, '', started.toFixed(1), (median(list.map((t) => t.firstByte - t.started))).toFixed(1), '']
  }
  console.log(`\n${table('Where the time goes (medians, ms): the IDE\'s parts beside the service\'s own', ['runs', 'click -> run()', 'run() -> started', 'started -> first output (event / byte)', 'first output event -> visible'], [
    ['IDE, paced', part(paced, 'click', 'run'), part(paced, 'run', 'started'), part(paced, 'started', 'firstOutput'), part(paced, 'firstOutput', 'visible')],
    ['IDE, back to back', part(backToBack, 'click', 'run'), part(backToBack, 'run', 'started'), part(backToBack, 'started', 'firstOutput'), part(backToBack, 'firstOutput', 'visible')],
    serviceRow('service, paced (baseline)', service.paced),
    serviceRow('service, back to back (baseline)', service.backToBack),
    serviceRow('service through the relay, paced', service.relayedPaced),
  ])}\n`)
})
