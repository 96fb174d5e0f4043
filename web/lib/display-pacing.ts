// One display update per animation frame. A game's updates leave the sandbox about one per frame,
// but the network, the proxy and a busy machine deliver them in bunches: two or three arrive
// within one frame, noVNC draws each at once, and the page shows only the last. Frames before it
// are lost and the next frames show nothing new, so a 60 fps sprite stutters at 30-45 frames
// drawn. Pacing holds an update that arrives after one was already shown in this frame until the
// next frame, so bunched updates are shown one per frame, as the game drew them.
//
// It works through noVNC's own back-pressure: before each FramebufferUpdate noVNC asks its
// Display whether drawing is `pending()` and, if so, waits for `flush()` (core/rfb.js,
// _framebufferUpdate; noVNC 1.7). The held update waits in noVNC's receive queue, unparsed.
// Holding one update a frame is a steady state (the picture runs one frame behind while updates
// come bunched); a backlog is more than one waiting at a frame's start. It is bounded: after
// `maxHeldFrames` frames in a row that each began with a backlog, updates flow unpaced until a
// frame begins without one, so a display that sends faster than the page paints falls behind by
// at most that many frames.

/** What pacing uses of noVNC's Display (core/display.js). */
export interface NoVncDisplay {
  flip(fromQueue?: boolean): void
  pending(): boolean
  flush(): Promise<void>
}

export interface PacingOptions {
  /**
   * Runs a callback once the next frame is painted (afterNextPaint in a browser). What is drawn
   * before a frame's paint, in its animation frame callbacks too, shows in that frame; so a frame
   * "begins" for pacing right after the previous one's paint.
   */
  nextFrame: (callback: () => void) => void
  /** No pacing while this says so (a hidden tab has no animation frames). */
  unpaced?: () => boolean
  /** A held update is let go after this long even with no animation frame. */
  maxHoldMs?: number
  /** Frames in a row that may each begin with a backlog before updates flow unpaced. */
  maxHeldFrames?: number
  setTimer?: (callback: () => void, ms: number) => unknown
  clearTimer?: (timer: unknown) => void
  now?: () => number
}

/** An update held within this long of the last release was queued behind it (same task: ~0 ms). */
const BACKLOG_MS = 1

/** Counts for the tests and the bench. */
export interface PacingStats { held: number; unpaced: number }

/** Paces `display` (noVNC's RFB `_display`) in place; returns its counts. */
export function paceDisplay(display: NoVncDisplay, options: PacingOptions): PacingStats {
  const maxHoldMs = options.maxHoldMs ?? 50
  const maxHeldFrames = options.maxHeldFrames ?? 3
  const setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms))
  const clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as ReturnType<typeof setTimeout>))
  const now = options.now ?? (() => performance.now())
  const flip = display.flip.bind(display)
  const pending = display.pending.bind(display)
  const flush = display.flush.bind(display)
  const stats: PacingStats = { held: 0, unpaced: 0 }
  let shownThisFrame = false
  let frameRequested = false
  // When a held update last went (at a frame's start); one held again within BACKLOG_MS of that
  // was already waiting behind it: a backlog.
  let releasedAt = -Infinity
  let backlogThisFrame = false
  let backlogStreak = 0
  let release: (() => void) | null = null

  const frameBegins = () => {
    frameRequested = false
    backlogStreak = backlogThisFrame ? backlogStreak + 1 : 0
    backlogThisFrame = false
    shownThisFrame = false
    const go = release
    release = null
    if (go) releasedAt = now()
    go?.()
  }
  const requestFrame = () => {
    if (frameRequested) return
    frameRequested = true
    options.nextFrame(frameBegins)
  }
  const gated = () => shownThisFrame && backlogStreak < maxHeldFrames && !options.unpaced?.()

  display.flip = (fromQueue?: boolean) => {
    // A flip that draws now (not one queued behind a decoding image) shows an update.
    const draws = fromQueue === true || !pending()
    flip(fromQueue)
    if (!draws) return
    shownThisFrame = true
    requestFrame()
  }
  display.pending = () => {
    if (pending()) return true
    if (gated()) return true
    if (shownThisFrame) stats.unpaced += 1
    return false
  }
  display.flush = async () => {
    await flush()
    if (!gated()) return
    stats.held += 1
    if (now() - releasedAt < BACKLOG_MS) backlogThisFrame = true
    await new Promise<void>((resolve) => {
      // No frame came in time: count the wait as one, so the backlog stays bounded.
      const timer = setTimer(() => { if (release === done) frameBegins() }, maxHoldMs)
      const done = () => { clearTimer(timer); resolve() }
      release = done
      requestFrame()
    })
  }
  return stats
}

/** The browser's `nextFrame`: a task posted from an animation frame callback runs after that frame's paint. */
export function afterNextPaint(callback: () => void): void {
  requestAnimationFrame(() => {
    const channel = new MessageChannel()
    channel.port1.onmessage = () => { channel.port1.close(); callback() }
    channel.port2.postMessage(null)
  })
}
