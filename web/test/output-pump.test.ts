import { describe, expect, it } from 'vitest'
import { OutputPump, SKIPPED_MARKER, type TerminalSink } from '../lib/output-pump'

/** Stands in for xterm.js: records writes and lets the test decide when parsing "finishes". */
class RecordingTerminal implements TerminalSink {
  written: string[] = []
  callbacks: (() => void)[] = []
  write(data: Uint8Array | string, callback?: () => void): void {
    this.written.push(typeof data === 'string' ? data : new TextDecoder().decode(data))
    if (callback) this.callbacks.push(callback)
  }
  finishAll(): void { const c = this.callbacks; this.callbacks = []; c.forEach((f) => f()) }
  get text(): string { return this.written.join('') }
}

class Frames {
  queue: (() => void)[] = []
  schedule = (callback: () => void) => { this.queue.push(callback) }
  run(): void { const q = this.queue; this.queue = []; q.forEach((f) => f()) }
}

const bytes = (text: string) => new TextEncoder().encode(text)

describe('OutputPump', () => {
  it('writes chunks in order, batched once per frame', () => {
    const term = new RecordingTerminal()
    const frames = new Frames()
    const pump = new OutputPump(term, { schedule: frames.schedule })
    pump.push(bytes('a'))
    pump.push(bytes('b'))
    pump.push(bytes('c'))
    expect(term.written).toEqual([])
    frames.run()
    expect(term.written).toEqual(['abc'])
    expect(pump.pendingBytes).toBe(0)
  })

  it('splits large backlogs into frame-sized batches', () => {
    const term = new RecordingTerminal()
    const frames = new Frames()
    const pump = new OutputPump(term, { schedule: frames.schedule, batchBytes: 4 })
    pump.push(bytes('0123456789'))
    frames.run()
    term.finishAll()
    frames.run()
    term.finishAll()
    frames.run()
    expect(term.written).toEqual(['0123', '4567', '89'])
  })

  it('waits for the terminal to catch up before writing more', () => {
    const term = new RecordingTerminal()
    const frames = new Frames()
    const pump = new OutputPump(term, { schedule: frames.schedule, batchBytes: 4, maxInFlightBytes: 4 })
    pump.push(bytes('abcdefgh'))
    frames.run()
    frames.run()
    frames.run()
    expect(term.written).toEqual(['abcd'])
    term.finishAll()
    frames.run()
    expect(term.written).toEqual(['abcd', 'efgh'])
  })

  it('drops the oldest output past the bound and says so once', () => {
    const term = new RecordingTerminal()
    const frames = new Frames()
    const pump = new OutputPump(term, { schedule: frames.schedule, maxPendingBytes: 100, keepAfterDropBytes: 10 })
    for (let i = 0; i < 50; i++) pump.push(bytes(`line${String(i).padStart(2, '0')}\n`))
    expect(pump.pendingBytes).toBeLessThanOrEqual(100)
    frames.run()
    expect(pump.skips).toBeGreaterThan(0)
    expect(term.written[0]).toBe(SKIPPED_MARKER)
    expect(term.text.endsWith('line49\n')).toBe(true)
    expect(term.text).not.toContain('line00')
    expect(term.text.split(SKIPPED_MARKER)).toHaveLength(2)
  })

  it('writes at most one batch per minimum interval', () => {
    const term = new RecordingTerminal()
    const frames = new Frames()
    let clock = 0
    const timers: { at: number; run: () => void }[] = []
    const pump = new OutputPump(term, {
      schedule: frames.schedule, minIntervalMs: 50, now: () => clock,
      setTimer: (run, ms) => { timers.push({ at: clock + ms, run }) },
    })
    pump.push(bytes('a'))
    frames.run()
    term.finishAll()
    pump.push(bytes('b'))
    frames.run()
    expect(term.written).toEqual(['a'])
    expect(timers.map((t) => t.at)).toEqual([50])
    clock = 50
    timers.shift()!.run()
    frames.run()
    expect(term.written).toEqual(['a', 'b'])
  })

  it('forgets pending output on reset', () => {
    const term = new RecordingTerminal()
    const frames = new Frames()
    const pump = new OutputPump(term, { schedule: frames.schedule })
    pump.push(bytes('old run'))
    pump.reset()
    pump.push(bytes('new run'))
    frames.run()
    expect(term.text).toBe('new run')
  })
})
