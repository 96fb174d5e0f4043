import { describe, expect, it } from 'vitest'
import { ProtocolError, parseServerMessage } from '../lib/protocol'

const parse = (value: unknown) => parseServerMessage(JSON.stringify(value))

describe('parseServerMessage: status', () => {
  it('reads a queued status with its place in line', () => {
    expect(parse({ type: 'status', state: 'queued', mode: 'pygame', message: 'You are number 3 in line', position: 3 }))
      .toEqual({ type: 'status', state: 'queued', mode: 'pygame', message: 'You are number 3 in line', position: 3 })
  })

  it('reads starting and ready, which carry no position', () => {
    expect(parse({ type: 'status', state: 'starting', mode: 'python', message: 'Starting…' }))
      .toEqual({ type: 'status', state: 'starting', mode: 'python', message: 'Starting…' })
    expect(parse({ type: 'status', state: 'ready', mode: 'turtle', message: 'Ready to run.', position: 9 }))
      .toEqual({ type: 'status', state: 'ready', mode: 'turtle', message: 'Ready to run.' })
  })

  it('fills a missing mode and message, and drops a position that is not a place in line', () => {
    expect(parse({ type: 'status', state: 'queued' })).toEqual({ type: 'status', state: 'queued', mode: 'python', message: '' })
    expect(parse({ type: 'status', state: 'queued', position: '3' })).not.toHaveProperty('position')
    expect(parse({ type: 'status', state: 'queued', position: 0 })).not.toHaveProperty('position')
  })

  it('ignores a state it does not know (v1 grows additively) and rejects a status without a state', () => {
    expect(parse({ type: 'status', state: 'warming', mode: 'python', message: '' })).toBeNull()
    expect(() => parse({ type: 'status', mode: 'python' })).toThrow(ProtocolError)
  })

  it('still reads the older messages', () => {
    expect(parse({ type: 'resumed', run: 'r1' })).toEqual({ type: 'resumed', run: 'r1', display: null })
    expect(parse({ type: 'error', code: 'busy', message: 'x' })).toEqual({ type: 'error', code: 'busy', message: 'x' })
  })
})

describe('parseServerMessage: resumed.display (a fresh display ticket)', () => {
  const display = { url: '/v1/runs/r1/vnc?ticket=fresh', width: 480, height: 320 }

  it('reads the display a resume brings, like started.display', () => {
    expect(parse({ type: 'resumed', run: 'r1', display })).toEqual({ type: 'resumed', run: 'r1', display })
    const started = parse({ type: 'started', run: 'r1', mode: 'pygame', python: '3.10.13', display })
    expect(started).toMatchObject({ display })
  })

  it('gives null for python runs and for servers that predate the field', () => {
    expect(parse({ type: 'resumed', run: 'r1', display: null })).toEqual({ type: 'resumed', run: 'r1', display: null })
    expect(parse({ type: 'resumed', run: 'r1' })).toEqual({ type: 'resumed', run: 'r1', display: null })
  })

  it('rejects a display that is not an object with a string url, and fills sizes that are not numbers', () => {
    for (const bad of ['/v1/runs/r1/vnc?ticket=t', 42, [display], {}, { url: 7, width: 1, height: 1 }, { width: 480, height: 320 }]) {
      expect(parse({ type: 'resumed', run: 'r1', display: bad }), JSON.stringify(bad)).toEqual({ type: 'resumed', run: 'r1', display: null })
    }
    expect(parse({ type: 'resumed', run: 'r1', display: { url: '/v1/runs/r1/vnc?ticket=t', width: 'wide' } }))
      .toEqual({ type: 'resumed', run: 'r1', display: { url: '/v1/runs/r1/vnc?ticket=t', width: 0, height: 0 } })
  })

  it('still rejects a resumed without its run', () => {
    expect(() => parse({ type: 'resumed', display })).toThrow(ProtocolError)
  })
})
