import { describe, expect, it } from 'vitest'
import { FrameCoalescer } from '../lib/coalescer'

class ManualTimers {
  pending: (() => void)[] = []
  set = (callback: () => void) => { this.pending.push(callback); return callback }
  clear = (timer: unknown) => { this.pending = this.pending.filter((t) => t !== timer) }
  fire(): void { const p = this.pending; this.pending = []; p.forEach((f) => f()) }
}

const text = (b: Uint8Array) => new TextDecoder().decode(b)

describe('FrameCoalescer', () => {
  it('delivers output after a quiet spell at once, and joins what follows within the interval, in order', () => {
    const timers = new ManualTimers()
    const delivered: string[] = []
    const c = new FrameCoalescer((b) => delivered.push(text(b)), { setTimer: timers.set, clearTimer: timers.clear })
    for (const s of ['1\r\n', '2\r\n', '3\r\n']) c.push(new TextEncoder().encode(s))
    expect(delivered).toEqual(['1\r\n'])
    expect(timers.pending).toHaveLength(1)
    timers.fire()
    expect(delivered).toEqual(['1\r\n', '2\r\n3\r\n'])
    // Sustained output: the interval goes on while bytes keep coming.
    c.push(new TextEncoder().encode('4'))
    expect(delivered).toHaveLength(2)
    timers.fire()
    expect(delivered).toEqual(['1\r\n', '2\r\n3\r\n', '4'])
    // An interval with nothing in it ends the batching: the next bytes go at once.
    timers.fire()
    expect(timers.pending).toHaveLength(0)
    c.push(new TextEncoder().encode('5'))
    expect(delivered).toEqual(['1\r\n', '2\r\n3\r\n', '4', '5'])
  })

  it('delivers at once when the size bound is reached', () => {
    const timers = new ManualTimers()
    const delivered: string[] = []
    const c = new FrameCoalescer((b) => delivered.push(text(b)), { maxBytes: 4, setTimer: timers.set, clearTimer: timers.clear })
    c.push(new TextEncoder().encode('a'))
    c.push(new TextEncoder().encode('bc'))
    c.push(new TextEncoder().encode('de'))
    expect(delivered).toEqual(['a', 'bcde'])
  })

  it('flushes on demand so a following text frame stays in order', () => {
    const timers = new ManualTimers()
    const delivered: string[] = []
    const c = new FrameCoalescer((b) => delivered.push(text(b)), { setTimer: timers.set, clearTimer: timers.clear })
    c.push(new TextEncoder().encode('last words'))
    c.flush()
    c.flush()
    expect(delivered).toEqual(['last words'])
    expect(timers.pending).toHaveLength(0)
  })
})
