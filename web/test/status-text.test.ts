import { describe, expect, it } from 'vitest'
import { describeStatus, type SessionView } from '../lib/status-text'

const view = (over: Partial<SessionView>): SessionView => ({ connection: 'ready', started: null, outcome: null, sandbox: null, ...over })
const exit = (reason: string, code: number | null) => ({ kind: 'exit' as const, exit: { type: 'exit' as const, run: 'r', code, reason: reason as never, message: '' } })

describe('status line words', () => {
  it('says what the connection is doing', () => {
    expect(describeStatus(view({ connection: 'connecting' })).text).toBe('Connecting…')
    expect(describeStatus(view({ connection: 'ready' })).text).toBe('Ready: press Run')
    expect(describeStatus(view({ connection: 'reconnecting' })).text).toMatch(/reconnecting/)
    expect(describeStatus(view({ connection: 'stopping' })).text).toBe('Stopping…')
    expect(describeStatus(view({ connection: 'closed' })).tone).toBe('error')
  })

  it('names the mode and Python version while running', () => {
    const started = { type: 'started' as const, run: 'r', mode: 'pygame' as const, python: '3.10.13', display: null }
    expect(describeStatus(view({ connection: 'running', started })).text).toBe('Running pygame (Python 3.10.13)')
  })

  it('says how to finish a turtle program, whose window stays open after the drawing (turtle.done())', () => {
    const started = { type: 'started' as const, run: 'r', mode: 'turtle' as const, python: '3.10.13', display: null }
    expect(describeStatus(view({ connection: 'running', started })).text)
      .toBe('Running turtle (Python 3.10.13): when your drawing is done, press Stop')
  })

  it('gives the exit code and the reason in words', () => {
    expect(describeStatus(view({ outcome: exit('exited', 0) })).text).toBe('Finished (exit code 0)')
    expect(describeStatus(view({ outcome: exit('exited', 1) })).text).toBe('Finished with an error (exit code 1)')
    expect(describeStatus(view({ outcome: exit('stopped', -2) })).text).toBe('Stopped')
    expect(describeStatus(view({ outcome: exit('timeout', null) })).text).toMatch(/time limit/)
    expect(describeStatus(view({ outcome: exit('memory', null) })).text).toMatch(/memory/)
    expect(describeStatus(view({ outcome: exit('output', null) })).text).toMatch(/output/)
    expect(describeStatus(view({ outcome: exit('failed', null) })).tone).toBe('error')
  })

  it('explains server errors', () => {
    const busy = { kind: 'error' as const, error: { code: 'busy' as const, message: 'x' } }
    expect(describeStatus(view({ outcome: busy })).text).toMatch(/busy/)
  })

  it('shows the server\'s words, calmly, while a sandbox is queued or starting', () => {
    const queued = { type: 'status' as const, state: 'queued' as const, mode: 'python' as const, message: 'Every sandbox is in use right now; you are number 3 in line.', position: 3 }
    for (const connection of ['starting', 'ready'] as const) {
      expect(describeStatus(view({ connection, sandbox: queued }))).toEqual({ text: queued.message, tone: 'busy' })
    }
    expect(describeStatus(view({ connection: 'starting', sandbox: { ...queued, message: '' } })).text).toMatch(/number 3 in line/)
    const starting = { type: 'status' as const, state: 'starting' as const, mode: 'pygame' as const, message: '' }
    expect(describeStatus(view({ connection: 'starting', sandbox: starting }))).toEqual({ text: 'Starting a sandbox for your program…', tone: 'busy' })
  })

  it('goes back to the usual words once the sandbox is ready or the run is live', () => {
    const ready = { type: 'status' as const, state: 'ready' as const, mode: 'python' as const, message: 'Ready to run.' }
    expect(describeStatus(view({ sandbox: ready })).text).toBe('Ready: press Run')
    const queued = { ...ready, state: 'queued' as const, message: 'in line' }
    expect(describeStatus(view({ connection: 'running', sandbox: queued })).text).toBe('Running')
    expect(describeStatus(view({ connection: 'reconnecting', sandbox: queued })).text).toMatch(/reconnecting/)
  })
})
