// What the IDE adds to a warm run, and how many frames the display draws (issue 12 items 6 and 9).
//
// 1. Click on Run -> the program's first output visible in the terminal (xterm.js's DOM rows
//    changed, in the animation frame that paints them), 10 runs paced 3 s apart and 10 back to back, beside the
//    service's own figure measured in the same run: `run` message -> first output byte at a
//    WebSocket client on this machine, on one warm session. User Timing marks the IDE sets
//    (pyplay:run, pyplay:started, pyplay:first-output) split the IDE's time into its parts.
// 2. Frames drawn in the display's canvas per second for a sprite moving at 60 fps: animation
//    frames (requestAnimationFrame, over CDP) in which noVNC drew into the canvas, beside the
//    page's own animation frames per second (the most it could draw) and the display socket's
//    messages per second (what the service sent).
import { expect, test, type Page } from '@playwright/test'
import { WebSocket } from 'ws'
import { openIde, pasteProgram, terminal } from '../e2e/ide'
import { MOVING_SPRITE } from '../e2e/programs'
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

/** The service alone: `run` -> first output byte on one warm session, from this machine. */
async function serviceFirstByte(s: Stack, runs: number, paceMs: number): Promise<number[]> {
  const socket = new WebSocket(s.backendUrl, { origin: s.ideUrl })
  await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject) })
  const runOnce = () => new Promise<number>((resolve) => {
    let began = 0
    let first = NaN
    const onMessage = (data: Buffer, binary: boolean) => {
      if (binary && Number.isNaN(first)) first = performance.now() - began
      if (!binary && JSON.parse(data.toString()).type === 'exit') { socket.off('message', onMessage); resolve(first) }
    }
    socket.on('message', onMessage)
    began = performance.now()
    socket.send(JSON.stringify({ type: 'run', mode: 'python', entry: 'main.py', files: [{ path: 'main.py', text: PROGRAM }], term: { cols: 80, rows: 24 } }))
  })
  const times: number[] = []
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

  const servicePaced = await serviceFirstByte(s, RUNS, PACE_MS)
  const serviceBackToBack = await serviceFirstByte(s, RUNS, 0)
  const total = (t: Timing) => t.visible - t.click
  const part = (list: Timing[], a: keyof Timing, b: keyof Timing) => median(list.map((t) => t[b] - t[a])).toFixed(1)
  const headers = ['path', 'runs', 'median ms', 'p95 ms', 'p99 ms', 'worst ms']
  console.log(`\n${table('Run -> first output, print("…"), warm session (Chromium, 1366x768)', headers, [
    summary('service: run message -> first byte, paced 3 s (baseline)', servicePaced),
    summary('service: run message -> first byte, back to back (baseline)', serviceBackToBack),
    summary('IDE: click -> output visible, paced 3 s', paced.map(total)),
    summary('IDE: click -> output visible, back to back', backToBack.map(total)),
  ])}`)
  console.log(`\n${table('Where the IDE\'s time goes (medians, ms)', ['runs', 'click -> run()', 'run() -> started', 'started -> first output event', 'first output event -> visible'], [
    ['paced', part(paced, 'click', 'run'), part(paced, 'run', 'started'), part(paced, 'started', 'firstOutput'), part(paced, 'firstOutput', 'visible')],
    ['back to back', part(backToBack, 'click', 'run'), part(backToBack, 'run', 'started'), part(backToBack, 'started', 'firstOutput'), part(backToBack, 'firstOutput', 'visible')],
  ])}\n`)
})

test('frames drawn in the display canvas per second for a sprite moving at 60 fps', async ({ page }) => {
  const s = stack!
  let displayMessages = 0
  page.on('websocket', (socket) => { if (socket.url().includes('/vnc')) socket.on('framereceived', () => { displayMessages += 1 }) })
  await openIde(page, s.ideUrl)
  await pasteProgram(page, MOVING_SPRITE)
  await page.getByTestId('run').click()
  await expect(page.getByTestId('display')).toHaveAttribute('data-phase', 'live', { timeout: 60_000 })
  await expect(terminal(page)).toContainText('Hold the right arrow key!')
  await page.waitForTimeout(2000) // past the first full-screen update
  const cdp = await page.context().newCDPSession(page)
  const seconds = 5
  const drawn: number[] = []
  const draws: number[] = []
  const frames: number[] = []
  const received: number[] = []
  for (let round = 0; round < 3; round++) {
    const before = displayMessages
    // Counted in the page, one bucket per second: animation frames, and those in which noVNC drew.
    const { result } = await cdp.send('Runtime.evaluate', {
      awaitPromise: true,
      returnByValue: true,
      expression: `new Promise((resolve) => {
        const canvas = document.querySelector('[data-testid="display"] canvas')
        const context = canvas.getContext('2d')
        let dirty = false
        // On the prototype: what reaches the canvas, whoever calls it.
        const proto = Object.getPrototypeOf(context)
        const draw = proto.drawImage, put = proto.putImageData
        const draws = []
        const count = () => { dirty = true; const b = Math.floor((performance.now() - start) / 1000); draws[b] = (draws[b] || 0) + 1 }
        proto.drawImage = function (...args) { if (this === context) count(); return draw.apply(this, args) }
        proto.putImageData = function (...args) { if (this === context) count(); return put.apply(this, args) }
        const drawn = [], frames = []
        const start = performance.now()
        const tick = (now) => {
          const bucket = Math.floor((now - start) / 1000)
          if (bucket >= ${seconds}) {
            proto.drawImage = draw; proto.putImageData = put
            resolve({ drawn, frames, draws: draws.slice(0, ${seconds}) }); return
          }
          frames[bucket] = (frames[bucket] || 0) + 1
          if (dirty) drawn[bucket] = (drawn[bucket] || 0) + 1
          dirty = false
          requestAnimationFrame(tick)
        }
        requestAnimationFrame(tick)
      })`,
    })
    const value = result.value as { drawn: (number | null)[]; frames: (number | null)[]; draws: (number | null)[] }
    drawn.push(...value.drawn.map((n) => n ?? 0))
    draws.push(...Array.from({ length: seconds }, (_, i) => value.draws[i] ?? 0))
    frames.push(...value.frames.map((n) => n ?? 0))
    received.push((displayMessages - before) / seconds)
  }
  await page.getByTestId('stop').click()
  await expect(page.getByTestId('status')).toHaveText('Stopped')
  const headers = ['per second', 'samples', 'median', 'p5 (slow end)', 'p1', 'min']
  const low = (name: string, values: number[]) => {
    // For rates the bad end is the low one: the 5th and 1st percentiles and the minimum.
    const row = summary(name, values.map((v) => -v))
    return [row[0]!, row[1]!, ...row.slice(2).map((cell) => (-Number(cell)).toFixed(1))]
  }
  console.log(`\n${table(`Display: a 480x320 game, its sprite moving at 60 fps, ${seconds} s x 3 `, headers, [
    low('animation frames of the page (baseline: the most it can draw)', frames),
    low('display socket messages received (what the service sent)', received),
    low('draws into the canvas (updates; several can share a frame)', draws),
    low('frames drawn in the canvas', drawn),
  ])}\n`)
})
