// A TCP relay between the IDE and the backend that a test can cut, like school Wi-Fi dropping:
// POST /drop on its control port destroys every open connection (no close handshake).
import http from 'node:http'
import net from 'node:net'

export interface Relay { port: number; controlPort: number; close(): Promise<void> }

export async function startRelay(targetPort: number): Promise<Relay> {
  const open = new Set<net.Socket>()
  const relay = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      open.add(socket)
      socket.on('close', () => open.delete(socket))
      socket.on('error', () => { client.destroy(); upstream.destroy() })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  const control = http.createServer((request, response) => {
    if (request.method === 'POST' && request.url === '/drop') {
      const count = open.size
      for (const socket of open) socket.destroy()
      response.end(String(count))
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
    close: async () => {
      for (const socket of open) socket.destroy()
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

/** Cuts every connection through the relay; returns how many sockets were open. */
export async function dropConnections(): Promise<number> {
  const port = process.env.PYPLAY_E2E_RELAY_CONTROL
  if (!port) throw new Error('PYPLAY_E2E_RELAY_CONTROL is unset: run through playwright.config.ts')
  const response = await fetch(`http://127.0.0.1:${port}/drop`, { method: 'POST' })
  return Number(await response.text())
}
