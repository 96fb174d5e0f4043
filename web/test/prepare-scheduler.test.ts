import { describe, expect, it } from 'vitest'
import { PrepareScheduler } from '../lib/prepare-scheduler'
import type { RunMode } from '../lib/protocol'

/** Timers the test fires by hand: the scheduler's delay without waiting for it. */
class ManualTimers {
  pending: { callback: () => void; ms: number }[] = []
  set = (callback: () => void, ms: number) => { const t = { callback, ms }; this.pending.push(t); return t }
  clear = (timer: unknown) => { this.pending = this.pending.filter((t) => t !== timer) }
  fire(): void { const p = this.pending; this.pending = []; p.forEach((t) => t.callback()) }
}

function setup() {
  const timers = new ManualTimers()
  const sent: RunMode[] = []
  const scheduler = new PrepareScheduler((mode) => sent.push(mode), { delayMs: 500, setTimer: timers.set, clearTimer: timers.clear })
  return { timers, sent, scheduler }
}

describe('PrepareScheduler', () => {
  it('prepares at once when the session starts', () => {
    const { sent, scheduler, timers } = setup()
    scheduler.prepareNow('python')
    expect(sent).toEqual(['python'])
    expect(timers.pending).toHaveLength(0)
    expect(scheduler.prepared).toBe('python')
  })

  it('prepares a changed mode once, after the delay, not per keystroke', () => {
    const { sent, scheduler, timers } = setup()
    scheduler.prepareNow('python')
    scheduler.want('python') // typing that does not change the mode
    expect(timers.pending).toHaveLength(0)
    scheduler.want('pygame')
    scheduler.want('pygame')
    scheduler.want('pygame')
    expect(sent).toEqual(['python'])
    expect(timers.pending).toHaveLength(1)
    expect(timers.pending[0]!.ms).toBe(500)
    timers.fire()
    expect(sent).toEqual(['python', 'pygame'])
    scheduler.want('pygame')
    expect(timers.pending).toHaveLength(0)
  })

  it('restarts the delay when the mode changes again, and sends only the last one', () => {
    const { sent, scheduler, timers } = setup()
    scheduler.prepareNow('python')
    scheduler.want('turtle')
    scheduler.want('pygame')
    expect(timers.pending).toHaveLength(1)
    timers.fire()
    expect(sent).toEqual(['python', 'pygame'])
  })

  it('sends nothing when the mode flips back to the prepared one before the delay ends', () => {
    const { sent, scheduler, timers } = setup()
    scheduler.prepareNow('python')
    scheduler.want('turtle') // `import turtle` typed …
    scheduler.want('python') // … and deleted again
    expect(timers.pending).toHaveLength(0)
    timers.fire()
    expect(sent).toEqual(['python'])
  })

  it('drops a pending prepare on cancel, and a later change starts afresh', () => {
    const { sent, scheduler, timers } = setup()
    scheduler.prepareNow('python')
    scheduler.want('turtle')
    scheduler.cancel()
    expect(timers.pending).toHaveLength(0)
    scheduler.want('turtle')
    timers.fire()
    expect(sent).toEqual(['python', 'turtle'])
  })
})
