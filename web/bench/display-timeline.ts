// A timeline of the display in the page, to tell where a frame is lost: when each display socket
// message arrived (and its size), when noVNC drew into the visible canvas, and every animation
// frame. Recorded by a script the page runs before its own (so it sees noVNC's socket from the
// start) and read back for a window of seconds; analysed here, in the bench's process.
import type { Page } from '@playwright/test'

export interface Timeline {
  /** performance.now() of each display socket message, and its bytes. */
  messages: [number, number][]
  /**
   * Each draw into the visible canvas (noVNC's flip of one update): performance.now() and the
   * index in `frames` of the frame that paints it. A draw made while a frame runs its animation
   * frame callbacks is painted by that frame; any other by the next one.
   */
  draws: [number, number][]
  /** The timestamps requestAnimationFrame handed to callbacks (the frames' begin times). */
  frames: number[]
  seconds: number
}

/** Installs the recorder; call before the page loads. */
export async function recordDisplay(page: Page): Promise<void> {
  await page.addInitScript(() => {
    type Scope = { pyplayTimeline?: Log }
    interface Log { messages: [number, number][]; draws: [number, number][]; on: boolean; frame: number; inFrame: boolean }
    const scope = window as unknown as Scope
    const log: Log = { messages: [], draws: [], on: false, frame: 0, inFrame: false }
    scope.pyplayTimeline = log
    const Native = window.WebSocket
    // The display socket's messages, as the page's event loop hands them to noVNC. A native
    // socket is returned (noVNC checks its prototype's own properties, so no subclass).
    const Recording = function (url: string | URL, protocols?: string | string[]) {
      const socket = new Native(url, protocols)
      if (String(url).includes('/vnc')) {
        socket.addEventListener('message', (event: MessageEvent) => {
          if (log.on) log.messages.push([performance.now(), (event.data as ArrayBuffer).byteLength ?? 0])
        })
      }
      return socket
    } as unknown as typeof WebSocket
    Object.assign(Recording, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3, prototype: Native.prototype })
    window.WebSocket = Recording
    // noVNC draws an update into its back buffer, then copies it to the visible canvas with
    // drawImage (Display.flip): a drawImage whose source is a canvas marks one update drawn.
    const proto = CanvasRenderingContext2D.prototype
    const draw = proto.drawImage as (...args: unknown[]) => void
    proto.drawImage = function (this: CanvasRenderingContext2D, ...args: unknown[]) {
      if (log.on && args[0] instanceof HTMLCanvasElement && this.canvas.isConnected) {
        log.draws.push([performance.now(), log.inFrame ? log.frame : log.frame + 1])
      }
      return draw.apply(this, args)
    } as typeof proto.drawImage
  })
}

/** Records `seconds` of the display's timeline, with every animation frame in that window. */
export async function captureTimeline(page: Page, seconds: number): Promise<Timeline> {
  return page.evaluate((window_) => new Promise<Timeline>((resolve) => {
    type Log = { messages: [number, number][]; draws: [number, number][]; on: boolean; frame: number; inFrame: boolean }
    const log = (window as unknown as { pyplayTimeline: Log }).pyplayTimeline
    log.messages = []
    log.draws = []
    log.frame = -1
    log.inFrame = false
    const frames: number[] = []
    // A task posted from the frame's first callback runs after that frame's rendering step.
    const after = new MessageChannel()
    after.port1.onmessage = () => { log.inFrame = false }
    let start = NaN
    const tick = (now: number) => {
      // Requested before anything else asks for this frame, so this callback runs first in it.
      log.frame += 1
      log.inFrame = true
      after.port2.postMessage(null)
      frames.push(now)
      if (Number.isNaN(start)) { start = now; log.on = true }
      if (now - start < window_ * 1000) { requestAnimationFrame(tick); return }
      log.on = false
      after.port1.close()
      resolve({ messages: log.messages, draws: log.draws, frames, seconds: (now - start) / 1000 })
    }
    requestAnimationFrame(tick)
  }), seconds)
}

export interface TimelineFigures {
  /** Per second. */
  framesPerSecond: number
  messagesPerSecond: number
  /** Bursts of messages (gaps under BURST_GAP_MS joined): the updates as they reached the page. */
  burstsPerSecond: number
  drawsPerSecond: number
  framesDrawnPerSecond: number
  /** Gaps between bursts and between draws, ms. */
  burstGaps: number[]
  drawGaps: number[]
  /** Share of drawn frames with two or more draws (an update drawn over before it was shown). */
  doubledShare: number
  /** Share of animation frames with no draw. */
  emptyShare: number
  bytesPerSecond: number
}

/** Messages closer than this belong to one burst (one update written in several pieces). */
export const BURST_GAP_MS = 4

export function analyse(t: Timeline): TimelineFigures {
  const bursts: number[] = []
  let last = -Infinity
  for (const [at] of t.messages) { if (at - last > BURST_GAP_MS) bursts.push(at); last = at }
  const gaps = (list: number[]) => list.slice(1).map((v, i) => v - list[i]!)
  const perFrame = new Array<number>(t.frames.length).fill(0)
  for (const [, frame] of t.draws) if (frame < perFrame.length) perFrame[frame]! += 1
  const counted = perFrame.slice(1) // frame 0 paints what came before the window
  const drawn = counted.filter((n) => n > 0)
  return {
    framesPerSecond: (t.frames.length - 1) / t.seconds,
    messagesPerSecond: t.messages.length / t.seconds,
    burstsPerSecond: bursts.length / t.seconds,
    drawsPerSecond: t.draws.length / t.seconds,
    framesDrawnPerSecond: drawn.length / t.seconds,
    burstGaps: gaps(bursts),
    drawGaps: gaps(t.draws.map(([at]) => at)),
    doubledShare: drawn.length ? drawn.filter((n) => n > 1).length / drawn.length : 0,
    emptyShare: counted.length ? counted.filter((n) => n === 0).length / counted.length : 0,
    bytesPerSecond: t.messages.reduce((sum, [, bytes]) => sum + bytes, 0) / t.seconds,
  }
}
