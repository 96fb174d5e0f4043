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
  it('writes output after a quiet spell at once, and what follows in order, batched once per frame', () => {
    const term = new RecordingTerminal()
    const frames = new Frames()
    const pump = new OutputPump(term, { schedule: frames.schedule })
    pump.push(bytes('a'))
    expect(term.written).toEqual(['a']) // no frame waited for: a prompt or an echo shows in the next paint
    pump.push(bytes('b'))
    pump.push(bytes('c'))
    expect(term.written).toEqual(['a'])
    frames.run()
    expect(term.written).toEqual(['a', 'bc'])
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
    expect(term.written.slice(0, 2)).toEqual(['line00\n', SKIPPED_MARKER]) // the first went at once
    expect(term.text.endsWith('line49\n')).toBe(true)
    expect(term.text).not.toContain('line01')
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
    pump.push(bytes('first, '))
    pump.push(bytes('old run')) // waits: the first write is still being parsed
    pump.reset()
    pump.push(bytes('new run'))
    frames.run()
    expect(term.text).toBe('first, new run')
  })

  it('writes a new run\'s first output at once after reset, within the last run\'s minimum interval', () => {
    const term = new RecordingTerminal()
    const frames = new Frames()
    let clock = 0
    const pump = new OutputPump(term, { schedule: frames.schedule, minIntervalMs: 50, now: () => clock, setTimer: () => {} })
    pump.push(bytes('last line of the last run'))
    term.finishAll()
    clock = 10
    pump.push(bytes(' -- exit'))      // within 50 ms: waits for the interval
    expect(term.written).toEqual(['last line of the last run'])
    pump.reset()                      // the next run starts
    clock = 20
    pump.push(bytes('new run'))
    expect(term.written).toEqual(['last line of the last run', 'new run'])
  })
})
