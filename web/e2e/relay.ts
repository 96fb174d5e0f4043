// A TCP relay between the IDE and the backend that a test can cut, like school Wi-Fi dropping:
// POST /drop on its control port (or drop() in-process) destroys every open connection (no close
// handshake); GET /stats (or stats()) counts the connections.
import http from 'node:http'
import net from 'node:net'

export interface RelayStats {
  /** Connections accepted since the relay started (a reconnect adds to it). */
  accepted: number
  /** Connections open now. */
  open: number
  /** The request line's path of each open connection (`/` for a session socket, `/v1/runs/…/vnc?ticket=…` for a display). */
  paths: string[]
}

export interface Relay {
  port: number
  controlPort: number
  /** Cuts every connection; returns how many sockets (both ends of each connection) were open. */
  drop(): number
  /** Cuts every connection and closes each new one at once for `ms` (an outage, not a blip). */
  cut(ms: number): number
  stats(): RelayStats
  close(): Promise<void>
}

export async function startRelay(targetPort: number): Promise<Relay> {
  const open = new Set<net.Socket>()
  const clients = new Map<net.Socket, string>()
  let accepted = 0
  let cutUntil = 0
  const relay = net.createServer((client) => {
    if (Date.now() < cutUntil) { client.destroy(); return }
    accepted += 1
    clients.set(client, '?')
    client.once('data', (chunk: Buffer) => {
      const path = /^[A-Z]+ (\S+)/.exec(chunk.toString('latin1'))?.[1]
      if (clients.has(client) && path) clients.set(client, path)
    })
    client.on('close', () => clients.delete(client))
    // No Nagle on either side: a relay that held a small write back until the last one was
    // acknowledged would bunch a game's display updates and delay a run's first output.
    client.setNoDelay(true)
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1', noDelay: true })
    for (const socket of [client, upstream]) {
      open.add(socket)
      socket.on('close', () => open.delete(socket))
      socket.on('error', () => { client.destroy(); upstream.destroy() })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  const drop = () => {
    const count = open.size
    for (const socket of open) socket.destroy()
    return count
  }
  const cut = (ms: number) => { cutUntil = Date.now() + ms; return drop() }
  const stats = (): RelayStats => ({ accepted, open: clients.size, paths: [...clients.values()] })
  const control = http.createServer((request, response) => {
    if (request.method === 'POST' && request.url === '/drop') {
      response.end(String(drop()))
    } else if (request.method === 'GET' && request.url === '/stats') {
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify(stats()))
    } else {
      response.statusCode = 404
      response.end()
    }
  })
  const port = await listen(relay)
  const controlPort = await listen(control)
  return {
    port,
    controlPort,
    drop,
    cut,
    stats,
    close: async () => {
      drop()
      await Promise.all([relay, control].map((server) => new Promise((resolve) => server.close(resolve))))
    },
  }
}

function listen(server: net.Server | http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))
  })
}

/** Cuts every connection through the shared relay (global-setup's); returns how many sockets were open. */
export async function dropConnections(): Promise<number> {
  const port = process.env.PYPLAY_E2E_RELAY_CONTROL
  if (!port) throw new Error('PYPLAY_E2E_RELAY_CONTROL is unset: run through playwright.config.ts')
  const response = await fetch(`http://127.0.0.1:${port}/drop`, { method: 'POST' })
  return Number(await response.text())
}
