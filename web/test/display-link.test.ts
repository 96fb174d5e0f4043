import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { DisplayLink, type DisplayHandlers, type DisplayLinkOptions, type DisplayPhase } from '../lib/display-link'
import { Emitter } from '../lib/emitter'
import { PyplayClient, type ClientEvents, type ClientStatus, type DisplayInfo, type SocketLike } from '../lib/pyplay-client'
import { startScriptedServer, type ScriptedServer } from './fake-server'

/** The events of PyplayClient the link follows, driven by hand. */
class FakeClient extends Emitter<ClientEvents> {
  status: ClientStatus = 'ready'
  displayUrl(path: string): string { return `ws://backend${path}` }
  setStatus(status: ClientStatus): void { this.status = status; this.emit('status', status) }
  started(run: string, display: DisplayInfo | null): void {
    this.setStatus('running')
    this.emit('started', { type: 'started', run, mode: display ? 'pygame' : 'python', python: '3.10.13', display })
  }
  resumed(run: string, display: DisplayInfo | null): void {
    this.setStatus('running')
    this.emit('resumed', { type: 'resumed', run, display })
  }
  exit(run: string): void {
    this.setStatus('ready')
    this.emit('exit', { type: 'exit', run, code: 0, reason: 'exited', message: '' })
  }
}

/** One display socket the link asked for: the test plays the server's side. */
interface Attempt {
  url: string
  handlers: DisplayHandlers
  closedByLink: boolean
  /** The RFB handshake completed. */
  connect(): void
  /** The server or the network closed it (4404 for an expired ticket, a cut connection). */
  drop(): void
}

const ticket = (t: string): DisplayInfo => ({ url: `/v1/runs/r1/vnc?ticket=${t}`, width: 480, height: 320 })
const urlOf = (t: string) => `ws://backend/v1/runs/r1/vnc?ticket=${t}`

let attempts: Attempt[]
let phases: DisplayPhase[]
let events: string[]
let link: DisplayLink | null

function makeLink(client: Pick<PyplayClient, 'status' | 'on' | 'displayUrl'>, options: Partial<DisplayLinkOptions> = {}): DisplayLink {
  link = new DisplayLink(client, {
    open: (url, handlers) => {
      let closed = false
      const attempt: Attempt = {
        url,
        handlers,
        closedByLink: false,
        connect: () => handlers.connected(),
        drop: () => { if (!closed) { closed = true; handlers.disconnected() } },
      }
      attempts.push(attempt)
      return { disconnect: () => { attempt.closedByLink = true; attempt.drop() } }
    },
    onPhase: (phase) => phases.push(phase),
    onClear: () => events.push('clear'),
    onDropped: () => events.push('dropped'),
    ...options,
  })
  return link
}

const last = () => attempts[attempts.length - 1]!

beforeEach(() => {
  attempts = []
  phases = []
  events = []
  link = null
})
afterEach(() => {
  link?.dispose()
  vi.useRealTimers()
})

describe('DisplayLink', () => {
  it('opens the display a run starts with and is live once connected; a python run clears it', () => {
    const client = new FakeClient()
    makeLink(client)
    client.started('r1', ticket('first'))
    expect(attempts.map((a) => a.url)).toEqual([urlOf('first')])
    expect(link!.phase).toBe('connecting')
    last().connect()
    expect(link!.phase).toBe('live')
    client.started('r2', null)
    expect(attempts[0]!.closedByLink).toBe(true)
    expect(attempts).toHaveLength(1)
    expect(events).toEqual(['clear', 'clear'])
  })

  it('retries a dropped display while the session is up, gives up after maxRetries, and counts afresh after a connect', () => {
    vi.useFakeTimers()
    const client = new FakeClient()
    makeLink(client, { maxRetries: 2, retryDelayMs: 100 })
    client.started('r1', ticket('first'))
    last().connect()
    last().drop()
    expect(link!.phase).toBe('connecting')
    vi.advanceTimersByTime(99)
    expect(attempts).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(attempts).toHaveLength(2)
    last().drop()
    vi.advanceTimersByTime(200) // backoff doubles
    expect(attempts).toHaveLength(3)
    last().connect() // a successful connect: the count starts again
    last().drop()
    vi.advanceTimersByTime(100)
    last().drop()
    vi.advanceTimersByTime(200)
    expect(attempts).toHaveLength(5)
    last().drop()
    vi.advanceTimersByTime(10_000)
    expect(attempts).toHaveLength(5)
    expect(link!.phase).toBe('lost')
    expect(attempts.every((a) => a.url === urlOf('first'))).toBe(true)
    expect(events.filter((e) => e === 'dropped')).toHaveLength(5) // the last frame is put back each time
  })

  it('while the session reconnects, a refused display waits for resumed instead of spending retries, then uses the new ticket', () => {
    vi.useFakeTimers()
    const client = new FakeClient()
    makeLink(client, { maxRetries: 1, retryDelayMs: 100 })
    client.started('r1', ticket('first'))
    last().connect()
    // The network drops both sockets; the session notices only after the display's retry went out.
    last().drop()
    vi.advanceTimersByTime(100)
    expect(attempts).toHaveLength(2)
    client.setStatus('reconnecting')
    last().drop() // 4404: the first ticket expired
    vi.advanceTimersByTime(60_000) // however long the session takes to come back: no more attempts
    expect(attempts).toHaveLength(2)
    expect(link!.phase).toBe('connecting')
    client.resumed('r1', ticket('fresh'))
    expect(attempts).toHaveLength(3)
    expect(last().url).toBe(urlOf('fresh'))
    expect(link!.url).toBe(urlOf('fresh'))
    last().connect()
    expect(link!.phase).toBe('live')
    // Later drops while the session is up retry with the fresh ticket, with the full count again.
    last().drop()
    vi.advanceTimersByTime(100)
    expect(last().url).toBe(urlOf('fresh'))
    expect(attempts).toHaveLength(4)
  })

  it('a retry waiting when the session starts reconnecting is not sent with the old ticket', () => {
    vi.useFakeTimers()
    const client = new FakeClient()
    makeLink(client, { retryDelayMs: 100 })
    client.started('r1', ticket('first'))
    last().connect()
    last().drop() // the display notices the drop first...
    client.setStatus('reconnecting') // ...the session right after
    vi.advanceTimersByTime(60_000)
    expect(attempts).toHaveLength(1)
    client.resumed('r1', ticket('fresh'))
    expect(attempts.map((a) => a.url)).toEqual([urlOf('first'), urlOf('fresh')])
  })

  it('keeps a live display socket when resumed brings a new ticket, and a later retry uses the new one', () => {
    vi.useFakeTimers()
    const client = new FakeClient()
    makeLink(client, { retryDelayMs: 100 })
    client.started('r1', ticket('first'))
    last().connect()
    client.setStatus('reconnecting') // only the session socket dropped
    client.resumed('r1', ticket('fresh'))
    expect(attempts).toHaveLength(1)
    expect(attempts[0]!.closedByLink).toBe(false)
    expect(link!.phase).toBe('live')
    last().drop()
    vi.advanceTimersByTime(100)
    expect(attempts.map((a) => a.url)).toEqual([urlOf('first'), urlOf('fresh')])
  })

  it('replaces a retry in flight with the old ticket, or one still waiting, by one with the new ticket', () => {
    vi.useFakeTimers()
    const client = new FakeClient()
    makeLink(client, { retryDelayMs: 100 })
    client.started('r1', ticket('first'))
    last().connect()
    last().drop()
    vi.advanceTimersByTime(100) // the retry with the old ticket is under way...
    expect(attempts).toHaveLength(2)
    client.setStatus('reconnecting')
    client.resumed('r1', ticket('second')) // ...when the session resumes
    expect(attempts[1]!.closedByLink).toBe(true)
    expect(last().url).toBe(urlOf('second'))
    last().connect()
    last().drop() // a retry is waiting...
    client.setStatus('reconnecting')
    client.resumed('r1', ticket('third')) // ...and a resume comes first
    expect(last().url).toBe(urlOf('third'))
    vi.advanceTimersByTime(10_000)
    expect(attempts).toHaveLength(4) // the waiting retry was dropped
  })

  it('retries the old URL after a resumed without a display (servers that predate the field)', () => {
    const client = new FakeClient()
    makeLink(client)
    client.started('r1', ticket('first'))
    last().connect()
    client.setStatus('reconnecting')
    last().drop()
    expect(attempts).toHaveLength(1)
    client.resumed('r1', null)
    expect(attempts.map((a) => a.url)).toEqual([urlOf('first'), urlOf('first')])
  })

  it('ignores a resumed of another run, and one for a python run', () => {
    const client = new FakeClient()
    makeLink(client)
    client.started('r1', null)
    client.resumed('r1', null)
    expect(attempts).toHaveLength(0)
    client.started('r1', ticket('first'))
    last().connect()
    client.setStatus('reconnecting')
    last().drop()
    client.resumed('r0', ticket('fresh'))
    expect(attempts).toHaveLength(1)
  })

  it('ends, without further attempts, when the resume is answered "gone" or the session gives up', () => {
    vi.useFakeTimers()
    const client = new FakeClient()
    makeLink(client)
    client.started('r1', ticket('first'))
    last().connect()
    client.setStatus('reconnecting')
    last().drop()
    client.setStatus('ready') // error `gone`: the client starts over
    expect(link!.phase).toBe('ended')
    vi.advanceTimersByTime(60_000)
    expect(attempts).toHaveLength(1)

    client.started('r2', ticket('other'))
    last().connect()
    last().drop() // the session is up: a retry is scheduled...
    client.setStatus('closed') // ...but the session gives up first
    vi.advanceTimersByTime(60_000)
    expect(attempts).toHaveLength(2)
    expect(link!.phase).toBe('ended')
  })

  it('Stop freezes the picture; the exit backstop closes a display socket the sandbox left open', () => {
    vi.useFakeTimers()
    const client = new FakeClient()
    makeLink(client, { exitBackstopMs: 2000 })
    client.started('r1', ticket('first'))
    last().connect()
    client.setStatus('stopping')
    expect(attempts[0]!.closedByLink).toBe(true)
    expect(events).toEqual(['clear', 'dropped'])
    expect(link!.phase).toBe('ended')

    client.started('r2', ticket('second'))
    last().connect()
    client.exit('r2')
    expect(link!.phase).toBe('live')
    vi.advanceTimersByTime(1999)
    expect(last().closedByLink).toBe(false)
    vi.advanceTimersByTime(1)
    expect(last().closedByLink).toBe(true)
    expect(link!.phase).toBe('ended')
    expect(phases).toEqual(['live', 'ended', 'connecting', 'live', 'ended'])
  })
})

describe('DisplayLink and Stop during a drop', () => {
  it('does not reopen the display of a run resumed only to be stopped', () => {
    const client = new FakeClient()
    makeLink(client)
    client.setStatus('running')
    client.started('r1', ticket('first'))
    last().connect()
    client.setStatus('reconnecting')
    last().drop()
    expect(link!.phase).toBe('connecting')
    client.setStatus('stopping') // Stop pressed while reconnecting: the client resumes, then stops
    client.emit('resumed', { type: 'resumed', run: 'r1', display: ticket('fresh') })
    expect(attempts).toHaveLength(1)
    expect(link!.phase).toBe('ended')
  })
})

describe('DisplayLink with PyplayClient', () => {
  let server: ScriptedServer
  let client: PyplayClient
  beforeEach(async () => { server = await startScriptedServer() })
  afterEach(async () => { client?.close(); await server.close() })

  it('reconnects the display with the ticket from resumed after the session socket dropped', async () => {
    client = new PyplayClient({ url: server.url, socketFactory: (url) => new WebSocket(url) as unknown as SocketLike, reconnectInitialDelayMs: 20 })
    makeLink(client, { retryDelayMs: 10 })
    const first = server.nextConnection()
    client.run({ mode: 'pygame', entry: 'main.py', files: [{ path: 'main.py', text: 'import pygame' }], term: { cols: 80, rows: 24 } })
    const backend = await first
    await backend.next()
    backend.json({ type: 'started', run: 'r1', mode: 'pygame', python: '3.10.13', display: ticket('first'), resume: 'secret' })
    await vi.waitFor(() => expect(attempts).toHaveLength(1))
    expect(last().url).toBe(`${server.url}/v1/runs/r1/vnc?ticket=first`)
    last().connect()

    // School Wi-Fi: both sockets go; the display waits for the session's resume.
    const second = server.nextConnection()
    backend.socket.terminate()
    await vi.waitFor(() => expect(client.status).toBe('reconnecting'))
    last().drop()
    const again = await second
    expect(await again.next()).toEqual({ type: 'resume', run: 'r1', token: 'secret', offset: 0 })
    expect(attempts).toHaveLength(1)
    again.json({ type: 'resumed', run: 'r1', display: ticket('fresh') })
    await vi.waitFor(() => expect(attempts).toHaveLength(2))
    expect(last().url).toBe(`${server.url}/v1/runs/r1/vnc?ticket=fresh`)
    expect(client.display).toEqual(ticket('fresh'))
    last().connect()
    expect(link!.phase).toBe('live')
  })
})
