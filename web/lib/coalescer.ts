// Joins many small binary frames into few larger ones. A program printing in a loop can produce
// a thousand tiny WebSocket frames a second; delivering each to the page's main thread costs more
// than the bytes themselves, so the socket worker hands them over at most once per interval.
// Output after a quiet spell (a prompt, a keystroke's echo, a run's first line) goes at once: the
// interval starts with it, and only what follows within the interval is joined.

export interface CoalescerOptions {
  /** After a delivery, bytes arriving within this long wait and are delivered together at its end. */
  intervalMs?: number
  /** …or at once when this many are pending. */
  maxBytes?: number
  setTimer?: (callback: () => void, ms: number) => unknown
  clearTimer?: (timer: unknown) => void
}

export class FrameCoalescer {
  private parts: Uint8Array[] = []
  private size = 0
  private timer: unknown = null
  private readonly intervalMs: number
  private readonly maxBytes: number
  private readonly setTimer: (callback: () => void, ms: number) => unknown
  private readonly clearTimer: (timer: unknown) => void

  constructor(private readonly deliver: (joined: Uint8Array) => void, options: CoalescerOptions = {}) {
    this.intervalMs = options.intervalMs ?? 16
    this.maxBytes = options.maxBytes ?? 64 * 1024
    this.setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms))
    this.clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as ReturnType<typeof setTimeout>))
  }

  push(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return
    this.parts.push(bytes)
    this.size += bytes.byteLength
    if (this.timer === null || this.size >= this.maxBytes) this.flush()
  }

  /**
   * Delivers what is pending now (also before a text frame, so order is kept, and at close) and
   * opens an interval in which further bytes wait. An interval that ends with nothing pending
   * leaves the coalescer idle, so the next bytes go at once.
   */
  flush(): void {
    if (this.timer !== null) { this.clearTimer(this.timer); this.timer = null }
    if (this.size === 0) return
    const joined = this.parts.length === 1 ? this.parts[0]! : join(this.parts, this.size)
    this.parts = []
    this.size = 0
    this.timer = this.setTimer(() => { this.timer = null; this.flush() }, this.intervalMs)
    this.deliver(joined)
  }
}

function join(parts: Uint8Array[], size: number): Uint8Array {
  const joined = new Uint8Array(size)
  let at = 0
  for (const part of parts) { joined.set(part, at); at += part.byteLength }
  return joined
}
