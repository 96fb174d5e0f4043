// Terminal flow control on the browser side. A browser WebSocket cannot stop reading, so when a
// program prints faster than xterm.js can render we batch output per animation frame and, past a
// bounded backlog, drop the oldest pending bytes and say so in the terminal. The server slows the
// program down too; this only guarantees the tab stays responsive and its memory bounded.

export interface TerminalSink {
  write(data: Uint8Array | string, callback?: () => void): void
}

export interface OutputPumpOptions {
  /** Runs a callback before the next paint (requestAnimationFrame in a browser). */
  schedule: (callback: () => void) => void
  /** Pending bytes beyond this are dropped, oldest first. */
  maxPendingBytes?: number
  /** After a drop, keep at most this many of the newest bytes. */
  keepAfterDropBytes?: number
  /** Bytes handed to the terminal per frame. */
  batchBytes?: number
  /** Bytes handed to the terminal whose write callback has not fired yet; above it we wait. */
  maxInFlightBytes?: number
  /**
   * At most one batch per this many ms. Each batch that scrolls makes xterm.js's DOM renderer
   * rebuild every visible row, so a flood drawn at 60 fps costs the page several times more
   * than at 20 fps, which looks the same to a reader.
   */
  minIntervalMs?: number
  now?: () => number
  setTimer?: (callback: () => void, ms: number) => void
  marker?: string
}

export const SKIPPED_MARKER = '\r\n\x1b[0;2m[output skipped: too fast]\x1b[0m\r\n'

export class OutputPump {
  private readonly sink: TerminalSink
  private readonly schedule: (callback: () => void) => void
  private readonly maxPending: number
  private readonly keepAfterDrop: number
  private readonly batchBytes: number
  private readonly maxInFlight: number
  private readonly minInterval: number
  private readonly now: () => number
  private readonly setTimer: (callback: () => void, ms: number) => void
  private readonly marker: string
  private lastFlush = -Infinity
  private queue: Uint8Array[] = []
  private pending = 0
  private inFlight = 0
  private scheduled = false
  private markerDue = false
  private generation = 0
  /** How many times output was dropped (for the UI and tests). */
  skips = 0

  constructor(sink: TerminalSink, options: OutputPumpOptions) {
    this.sink = sink
    this.schedule = options.schedule
    this.maxPending = options.maxPendingBytes ?? 1024 * 1024
    this.keepAfterDrop = options.keepAfterDropBytes ?? 64 * 1024
    this.batchBytes = options.batchBytes ?? 64 * 1024
    this.maxInFlight = options.maxInFlightBytes ?? 256 * 1024
    this.minInterval = options.minIntervalMs ?? 0
    this.now = options.now ?? (() => performance.now())
    this.setTimer = options.setTimer ?? ((callback, ms) => { setTimeout(callback, ms) })
    this.marker = options.marker ?? SKIPPED_MARKER
  }

  get pendingBytes(): number { return this.pending }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return
    this.queue.push(chunk)
    this.pending += chunk.byteLength
    if (this.pending > this.maxPending) this.dropOldest()
    this.wake()
  }

  /** Text written in order with the program's output (status lines, exit messages). */
  pushText(text: string): void {
    this.push(new TextEncoder().encode(text))
  }

  /**
   * Forget pending output (a new run starts). Writes already in xterm finish on their own. The
   * pump is idle again: the new run's first output goes at once, not after the minimum interval
   * that the last run's final lines started (runs back to back waited up to 50 ms for it).
   */
  reset(): void {
    this.queue = []
    this.pending = 0
    this.markerDue = false
    this.generation += 1
    this.inFlight = 0
    this.lastFlush = -Infinity
    this.scheduled = false // a flush still scheduled for the last run finds nothing, or writes early
  }

  private dropOldest(): void {
    while (this.queue.length > 0 && this.pending > this.keepAfterDrop) {
      const head = this.queue[0]!
      const excess = this.pending - this.keepAfterDrop
      if (head.byteLength <= excess) {
        this.queue.shift()
        this.pending -= head.byteLength
      } else {
        this.queue[0] = head.subarray(excess)
        this.pending -= excess
      }
    }
    this.markerDue = true
    this.skips += 1
  }

  /**
   * Idle (nothing in xterm's hands, no batch within `minIntervalMs`): write at once, so a prompt
   * or an echoed keystroke shows in the next paint. Otherwise output is flowing: batch it on the
   * next animation frame, at most one batch per `minIntervalMs`.
   */
  private wake(): void {
    if (this.scheduled || this.pending === 0 || this.inFlight >= this.maxInFlight) return
    const wait = this.lastFlush + this.minInterval - this.now()
    if (wait <= 0 && this.inFlight === 0) { this.flush(); return }
    this.scheduled = true
    if (wait > 0) this.setTimer(() => this.schedule(() => this.flush()), wait)
    else this.schedule(() => this.flush())
  }

  private flush(): void {
    this.scheduled = false
    this.lastFlush = this.now()
    if (this.markerDue) {
      this.markerDue = false
      this.sink.write(this.marker)
    }
    const batch = this.takeBatch()
    if (batch.byteLength > 0) {
      const generation = this.generation
      this.inFlight += batch.byteLength
      this.sink.write(batch, () => {
        if (generation !== this.generation) return
        this.inFlight -= batch.byteLength
        this.wake()
      })
    }
    this.wake()
  }

  private takeBatch(): Uint8Array {
    const parts: Uint8Array[] = []
    let size = 0
    while (this.queue.length > 0 && size < this.batchBytes) {
      const head = this.queue[0]!
      const room = this.batchBytes - size
      if (head.byteLength <= room) {
        parts.push(head)
        this.queue.shift()
        size += head.byteLength
      } else {
        parts.push(head.subarray(0, room))
        this.queue[0] = head.subarray(room)
        size += room
      }
    }
    this.pending -= size
    if (parts.length === 1) return parts[0]!
    const batch = new Uint8Array(size)
    let at = 0
    for (const part of parts) { batch.set(part, at); at += part.byteLength }
    return batch
  }
}
