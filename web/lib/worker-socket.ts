// A SocketLike for PyplayClient whose WebSocket lives in a Web Worker (socket-worker.ts).
// Use it in browsers: `new PyplayClient({ url, socketFactory: workerSocketFactory(() => new Worker(...)) })`.
import type { SocketFactory, SocketLike } from './pyplay-client'

export type ToWorker =
  | { op: 'open'; url: string }
  | { op: 'send'; data: string }
  | { op: 'close'; code?: number; reason?: string }

export type FromWorker =
  | { event: 'open' }
  | { event: 'message'; data: string | ArrayBuffer }
  | { event: 'error' }
  | { event: 'close'; code: number; reason: string }

export interface WorkerLike {
  postMessage(message: ToWorker): void
  onmessage: ((event: MessageEvent<FromWorker>) => void) | null
  onerror: ((event: never) => void) | null // a browser Worker's ErrorEvent; its content is not used
  terminate(): void
}

const CONNECTING = 0
const OPEN = 1
const CLOSING = 2
const CLOSED = 3

export function workerSocketFactory(createWorker: () => WorkerLike): SocketFactory {
  return (url) => new WorkerSocket(createWorker(), url)
}

class WorkerSocket implements SocketLike {
  binaryType = 'arraybuffer'
  readyState = CONNECTING
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: unknown) => void) | null = null
  onerror: ((event: unknown) => void) | null = null

  constructor(private readonly worker: WorkerLike, url: string) {
    worker.onmessage = ({ data }) => this.receive(data)
    // A worker that fails to load behaves like a socket that could not connect.
    worker.onerror = () => this.receive({ event: 'close', code: 1006, reason: 'socket worker failed' })
    worker.postMessage({ op: 'open', url })
  }

  send(data: string): void {
    if (this.readyState !== OPEN) throw new Error('WebSocket is not open')
    this.worker.postMessage({ op: 'send', data })
  }

  close(code?: number, reason?: string): void {
    if (this.readyState >= CLOSING) return
    this.readyState = CLOSING
    this.worker.postMessage({ op: 'close', code, reason })
  }

  private receive(message: FromWorker): void {
    if (this.readyState === CLOSED) return
    switch (message.event) {
      case 'open':
        // States only move forward: a socket closed before it opened stays closing (a send then
        // throws, so the client queues its message instead of losing it in a closing socket).
        if (this.readyState !== CONNECTING) return
        this.readyState = OPEN
        this.onopen?.({})
        break
      case 'message':
        this.onmessage?.({ data: message.data })
        break
      case 'error':
        this.onerror?.({})
        break
      case 'close':
        this.readyState = CLOSED
        this.worker.terminate()
        this.onclose?.({ code: message.code, reason: message.reason })
        break
    }
  }
}
