import { describe, expect, it } from 'vitest'
import { workerSocketFactory, type FromWorker, type ToWorker, type WorkerLike } from '../lib/worker-socket'

/** Stands in for the browser Worker: records commands, lets the test play the worker's events. */
class ScriptedWorker implements WorkerLike {
  commands: ToWorker[] = []
  terminated = false
  onmessage: ((event: MessageEvent<FromWorker>) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  postMessage(message: ToWorker): void { this.commands.push(message) }
  terminate(): void { this.terminated = true }
  emit(data: FromWorker): void { this.onmessage?.({ data } as MessageEvent<FromWorker>) }
}

describe('worker-backed socket', () => {
  it('opens, relays frames both ways, and closes like a WebSocket', () => {
    const worker = new ScriptedWorker()
    const socket = workerSocketFactory(() => worker)('ws://127.0.0.1:1/')
    const seen: unknown[] = []
    socket.onopen = () => seen.push('open')
    socket.onmessage = ({ data }) => seen.push(data)
    socket.onclose = (event) => seen.push(event)
    expect(worker.commands).toEqual([{ op: 'open', url: 'ws://127.0.0.1:1/' }])
    expect(() => socket.send('early')).toThrow()
    worker.emit({ event: 'open' })
    expect(socket.readyState).toBe(1)
    socket.send('{"type":"stop"}')
    const bytes = new Uint8Array([104, 105]).buffer
    worker.emit({ event: 'message', data: bytes })
    worker.emit({ event: 'message', data: '{"type":"exit"}' })
    socket.close(1000, 'bye')
    worker.emit({ event: 'close', code: 1000, reason: 'bye' })
    expect(worker.commands.slice(1)).toEqual([{ op: 'send', data: '{"type":"stop"}' }, { op: 'close', code: 1000, reason: 'bye' }])
    expect(seen).toEqual(['open', bytes, '{"type":"exit"}', { code: 1000, reason: 'bye' }])
    expect(socket.readyState).toBe(3)
    expect(worker.terminated).toBe(true)
  })

  it('reports a worker that fails to load as a closed socket', () => {
    const worker = new ScriptedWorker()
    const socket = workerSocketFactory(() => worker)('ws://127.0.0.1:1/')
    let closed = false
    socket.onclose = () => { closed = true }
    worker.onerror?.({})
    expect(closed).toBe(true)
    expect(socket.readyState).toBe(3)
  })

  it('never goes back: a socket closed before it opened stays closing, and a send into it throws', () => {
    const worker = new ScriptedWorker()
    const socket = workerSocketFactory(() => worker)('ws://127.0.0.1:1/')
    const seen: string[] = []
    socket.onopen = () => seen.push('open')
    socket.onclose = () => seen.push('close')
    socket.close()
    expect(socket.readyState).toBe(2)
    worker.emit({ event: 'open' }) // the worker's socket opened before it saw the close
    expect(socket.readyState).toBe(2)
    expect(() => socket.send('{"type":"run"}')).toThrow()
    worker.emit({ event: 'close', code: 1000, reason: '' })
    worker.emit({ event: 'open' })
    expect(socket.readyState).toBe(3)
    expect(seen).toEqual(['close'])
    expect(worker.commands.map((c) => c.op)).toEqual(['open', 'close'])
  })
})
