import { describe, expect, it } from 'vitest'
import { DEFAULT_JITTER, PlaybackClock } from '../lib/audio-link'

const PIECE = 0.01   // 10 ms, as the server sends

describe('PlaybackClock', () => {
  it('plays pieces back to back, the first one target seconds ahead', () => {
    const clock = new PlaybackClock()
    expect(clock.place(1, PIECE)).toBeCloseTo(1 + DEFAULT_JITTER.initial)
    expect(clock.place(1.005, PIECE)).toBeCloseTo(1 + DEFAULT_JITTER.initial + PIECE)
    expect(clock.underruns).toBe(0)
  })

  it('grows the buffer after the sound ran dry', () => {
    const clock = new PlaybackClock()
    clock.place(1, PIECE)
    const restart = clock.place(2, PIECE)        // nothing came for a second: ran dry
    expect(clock.underruns).toBe(1)
    expect(clock.target).toBeCloseTo(DEFAULT_JITTER.initial + DEFAULT_JITTER.step)
    expect(restart).toBeCloseTo(2 + clock.target)
  })

  it('drops old sound after a stall instead of falling behind', () => {
    const clock = new PlaybackClock()
    const now = 5
    let kept = 0
    for (let i = 0; i < 50; i += 1) if (clock.place(now, PIECE) !== null) kept += 1   // a burst of 0.5 s at once
    expect(clock.dropped).toBeGreaterThan(0)
    expect(kept * PIECE).toBeLessThanOrEqual(clock.target + DEFAULT_JITTER.slack + PIECE + 1e-9)
  })

  it('shrinks the buffer again once the sound has been steady', () => {
    const clock = new PlaybackClock()
    clock.place(0, PIECE)
    clock.place(1, PIECE)                         // one underrun: the target grew
    const grown = clock.target
    let now = 1
    for (let i = 0; i < 700; i += 1) { now += PIECE; clock.place(now, PIECE) }
    expect(clock.target).toBeLessThan(grown)
    expect(clock.target).toBeGreaterThanOrEqual(DEFAULT_JITTER.min)
  })

  it('starts afresh after reset (Stop)', () => {
    const clock = new PlaybackClock()
    clock.place(1, PIECE)
    clock.reset()
    expect(clock.place(1.2, PIECE)).toBeCloseTo(1.2 + clock.target)
    expect(clock.underruns).toBe(0)
  })
})
