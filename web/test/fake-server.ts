// A real WebSocket server on 127.0.0.1 that plays the backend's side of protocol v1 as each test scripts it.
import { WebSocketServer, WebSocket } from 'ws'
import type { AddressInfo } from 'node:net'

export interface ScriptedSocket {
  socket: WebSocket
  messages: Record<string, unknown>[]
  next(): Promise<Record<string, unknown>>
  json(value: unknown): void
  bytes(text: string): void
  /** Sends a protocol `status` (queued/starting/ready) as the server's session does. */
  status(state: 'queued' | 'starting' | 'ready', mode: string, message: string, position?: number): void
}

export interface ScriptedServer {
  url: string
  connections: ScriptedSocket[]
  nextConnection(): Promise<ScriptedSocket>
  close(): Promise<void>
}

export async function startScriptedServer(): Promise<ScriptedServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  const connections: ScriptedSocket[] = []
  const waiters: ((socket: ScriptedSocket) => void)[] = []
  server.on('connection', (socket) => {
    const scripted = wrap(socket)
    connections.push(scripted)
    waiters.shift()?.(scripted)
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}`,
    connections,
    nextConnection: () => new Promise((resolve) => waiters.push(resolve)),
    close: () => new Promise((resolve) => {
      for (const client of server.clients) client.terminate()
      server.close(() => resolve())
    }),
  }
}

function wrap(socket: WebSocket): ScriptedSocket {
  const messages: Record<string, unknown>[] = []
  const waiting: ((message: Record<string, unknown>) => void)[] = []
  let read = 0
  socket.on('message', (data, isBinary) => {
    if (isBinary) throw new Error('clients send text frames only')
    messages.push(JSON.parse(data.toString()))
    const waiter = waiting.shift()
    if (waiter) waiter(messages[read++]!)
  })
  return {
    socket,
    messages,
    next: () => new Promise((resolve) => {
      if (read < messages.length) resolve(messages[read++]!)
      else waiting.push(resolve)
    }),
    json: (value) => socket.send(JSON.stringify(value)),
    bytes: (text) => socket.send(Buffer.from(text, 'utf8'), { binary: true }),
    status: (state, mode, message, position) => socket.send(JSON.stringify(
      { type: 'status', state, mode, message, ...(state === 'queued' ? { position } : {}) })),
  }
}
