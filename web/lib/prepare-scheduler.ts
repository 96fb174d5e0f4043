// When the IDE asks the server to warm a sandbox (`prepare`): at once when the session starts,
// then only when the wanted mode really changes, and only after it has stayed changed for a
// moment. Typing `import pygame` passes through `import p`, `import pyg`, …; each keystroke must
// not become a prepare, and a mode that flips back before the delay ends costs nothing.
import type { RunMode } from './protocol'

export interface PrepareSchedulerOptions {
  /** How long a changed mode must stay unchanged before it is prepared. */
  delayMs?: number
  setTimer?: (callback: () => void, ms: number) => unknown
  clearTimer?: (timer: unknown) => void
}

export class PrepareScheduler {
  private lastPrepared: RunMode | null = null
  private wantedMode: RunMode | null = null
  private timer: unknown = null
  private readonly delayMs: number
  private readonly setTimer: (callback: () => void, ms: number) => unknown
  private readonly clearTimer: (timer: unknown) => void

  constructor(private readonly prepare: (mode: RunMode) => void, options: PrepareSchedulerOptions = {}) {
    this.delayMs = options.delayMs ?? 500
    this.setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms))
    this.clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as ReturnType<typeof setTimeout>))
  }

  /** The mode last handed to `prepare`, or null before the first. */
  get prepared(): RunMode | null { return this.lastPrepared }

  /** Prepare `mode` now, whatever was prepared before (the session starts). */
  prepareNow(mode: RunMode): void {
    this.clearPending()
    this.wantedMode = mode
    this.lastPrepared = mode
    this.prepare(mode)
  }

  /** The editor or the Mode picker now implies `mode`: prepare it once it has been stable for the delay. */
  want(mode: RunMode): void {
    if (mode === this.wantedMode) return
    this.wantedMode = mode
    this.clearPending()
    if (mode === this.lastPrepared) return // flipped back before the delay ended: nothing to do
    this.timer = this.setTimer(() => {
      this.timer = null
      this.lastPrepared = mode
      this.prepare(mode)
    }, this.delayMs)
  }

  /** Drop a pending prepare (the page is going away); a later `want` starts afresh. */
  cancel(): void {
    this.clearPending()
    this.wantedMode = this.lastPrepared
  }

  private clearPending(): void {
    if (this.timer !== null) { this.clearTimer(this.timer); this.timer = null }
  }
}
