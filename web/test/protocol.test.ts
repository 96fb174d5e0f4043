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
    expect(parse({ type: 'resumed', run: 'r1' })).toEqual({ type: 'resumed', run: 'r1' })
    expect(parse({ type: 'error', code: 'busy', message: 'x' })).toEqual({ type: 'error', code: 'busy', message: 'x' })
  })
})
