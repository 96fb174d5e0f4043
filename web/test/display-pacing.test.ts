import { describe, expect, it } from 'vitest'
import { paceDisplay, type NoVncDisplay } from '../lib/display-pacing'

/** noVNC's Display as rfb.js drives it: flip() shows an update; pending()/flush() gate the next. */
class FakeDisplay implements NoVncDisplay {
  shown: number[] = []
  queued = 0 // images still decoding (noVNC's render queue)
  frame = 0
  private drained: (() => void) | null = null
  flip(fromQueue?: boolean): void { if (fromQueue || this.queued === 0) this.shown.push(this.frame) }
  pending(): boolean { return this.queued > 0 }
  flush(): Promise<void> { return this.queued === 0 ? Promise.resolve() : new Promise((resolve) => { this.drained = resolve }) }
  decoded(): void { this.queued = 0; this.flip(true); this.drained?.() }
}

/** The page: animation frames by hand, timers by hand. */
function page() {
  let frameCallbacks: (() => void)[] = []
  const timers = new Map<number, () => void>()
  let nextTimer = 1
  return {
    nextFrame: (callback: () => void) => { frameCallbacks.push(callback) },
    setTimer: (callback: () => void) => { timers.set(nextTimer, callback); return nextTimer++ },
    clearTimer: (timer: unknown) => { timers.delete(timer as number) },
    async frame(display: FakeDisplay) {
      display.frame += 1
      const callbacks = frameCallbacks
      frameCallbacks = []
      for (const callback of callbacks) callback()
      await settle()
    },
    async timeout() { for (const [id, callback] of [...timers]) { timers.delete(id); callback() } await settle() },
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

/** What rfb.js does with each FramebufferUpdate: wait while the display is pending, then draw. */
async function update(display: NoVncDisplay): Promise<void> {
  if (display.pending()) await display.flush()
  display.flip()
}

/** Updates that arrived together, handled one after another as rfb.js does. */
async function bunch(display: NoVncDisplay, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await update(display)
}

describe('paceDisplay', () => {
  it('shows updates that arrive together in successive frames, each once', async () => {
    const display = new FakeDisplay()
    const p = page()
    const stats = paceDisplay(display, p)
    // Three updates in one bunch, as after a stall on the way.
    const done = bunch(display, 3)
    await settle()
    expect(display.shown).toEqual([0])
    await p.frame(display)
    expect(display.shown).toEqual([0, 1])
    await p.frame(display)
    await done
    expect(display.shown).toEqual([0, 1, 2])
    expect(stats.held).toBe(2)
  })

  it('draws an update at once when nothing was shown in this frame', async () => {
    const display = new FakeDisplay()
    const p = page()
    paceDisplay(display, p)
    await update(display)
    await p.frame(display)
    await update(display)
    await p.frame(display)
    await update(display)
    expect(display.shown).toEqual([0, 1, 2])
  })

  it('still waits for images noVNC is decoding', async () => {
    const display = new FakeDisplay()
    const p = page()
    paceDisplay(display, p)
    display.queued = 1
    display.flip() // queued behind the image: nothing shown yet
    expect(display.shown).toEqual([])
    let drawn = false
    const next = update(display).then(() => { drawn = true })
    await settle()
    expect(drawn).toBe(false)
    display.decoded() // the image and its flip are drawn now: the next update waits a frame
    await settle()
    expect(drawn).toBe(false)
    await p.frame(display)
    await next
    expect(display.shown).toEqual([0, 1])
  })

  it('lets updates flow unpaced once a backlog has lasted maxHeldFrames frames', async () => {
    const display = new FakeDisplay()
    const p = page()
    const stats = paceDisplay(display, { ...p, maxHeldFrames: 2 })
    // Six updates at once: two frames each hold one, then the rest go without waiting.
    const all = bunch(display, 6)
    await settle()
    await p.frame(display)
    await p.frame(display)
    await p.frame(display)
    await all
    expect(display.shown.length).toBe(6)
    expect(stats.unpaced).toBeGreaterThan(0)
  })

  it('lets a held update go after maxHoldMs without frames, and not at all while unpaced', async () => {
    const display = new FakeDisplay()
    const p = page()
    let hidden = false
    paceDisplay(display, { ...p, unpaced: () => hidden })
    await update(display)
    const held = update(display)
    await settle()
    expect(display.shown).toEqual([0])
    await p.timeout()
    await held
    expect(display.shown).toEqual([0, 0])
    hidden = true
    await update(display)
    await update(display)
    expect(display.shown).toEqual([0, 0, 0, 0])
  })

  it('keeps pacing while the picture runs one frame behind (one update held each frame is no backlog)', async () => {
    const display = new FakeDisplay()
    const p = page()
    let clock = 0
    const stats = paceDisplay(display, { ...p, now: () => clock, maxHeldFrames: 2 })
    await bunch(display, 1)
    // Each frame, one update arrives mid-frame after the one held before it was shown.
    for (let frame = 0; frame < 6; frame++) {
      clock += 8
      const held = update(display)
      await settle()
      clock += 8
      await p.frame(display)
      await held
    }
    expect(stats.unpaced).toBe(0)
    expect(display.shown).toEqual([0, 1, 2, 3, 4, 5, 6])
  })
})
