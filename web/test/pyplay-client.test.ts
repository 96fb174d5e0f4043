import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import {
  PyplayClient, RESUME_KEY, displaySocketUrl, sessionResumeStore, type ClientEvents, type PyplayClientOptions, type SocketLike,
} from '../lib/pyplay-client'
import { startScriptedServer, type ScriptedServer } from './fake-server'

const socketFactory = (url: string) => new WebSocket(url) as unknown as SocketLike
const RUN = { mode: 'python', entry: 'main.py', files: [{ path: 'main.py', text: 'print(1)' }], term: { cols: 80, rows: 24 } } as const

function until<K extends keyof ClientEvents>(
  client: PyplayClient, event: K, accept: (value: ClientEvents[K]) => boolean = () => true,
): Promise<ClientEvents[K]> {
  return new Promise((resolve) => {
    const off = client.on(event, (value) => { if (accept(value)) { off(); resolve(value) } })
  })
}

function collectOutput(client: PyplayClient): () => string {
  const decoder = new TextDecoder()
  let text = ''
  client.on('output', (bytes) => { text += decoder.decode(bytes, { stream: true }) })
  return () => text
}

let server: ScriptedServer
let client: PyplayClient

function makeClient(options: Partial<PyplayClientOptions> = {}): PyplayClient {
  client = new PyplayClient({ url: server.url, socketFactory, reconnectInitialDelayMs: 20, ...options })
  return client
}

beforeEach(async () => { server = await startScriptedServer() })
afterEach(async () => { client?.close(); await server.close() })

describe('PyplayClient', () => {
  it('runs a program: sends run, streams output bytes, reports exit', async () => {
    makeClient()
    const statuses: string[] = []
    client.on('status', (s) => statuses.push(s))
    const output = collectOutput(client)
    const connection = server.nextConnection()
    client.run({ ...RUN })
    const backend = await connection
    expect(await backend.next()).toEqual({ type: 'run', ...RUN })
    backend.json({ type: 'started', run: 'r1', mode: 'python', python: '3.10.13', display: null, resume: 'tok' })
    backend.bytes('hello \u00e9\r\n')
    backend.json({ type: 'exit', run: 'r1', code: 0, reason: 'exited', message: '' })
    const exit = await until(client, 'exit')
    expect(exit).toMatchObject({ run: 'r1', code: 0, reason: 'exited' })
    expect(output()).toBe('hello \u00e9\r\n')
    expect(client.outputOffset).toBe(Buffer.byteLength('hello \u00e9\r\n'))
    expect(statuses).toEqual(['starting', 'running', 'ready'])
  })

  it('sends stdin, resize and stop as JSON; drops stdin when no run is live', async () => {
    makeClient()
    const connection = server.nextConnection()
    expect(client.stdin('lost')).toBe(false)
    client.run({ ...RUN })
    const backend = await connection
    await backend.next()
    backend.json({ type: 'started', run: 'r1', mode: 'python', python: '3.10.13', display: null })
    await until(client, 'started')
    expect(client.stdin('Ada\r')).toBe(true)
    client.resize({ cols: 120, rows: 30 })
    client.stop()
    expect(client.status).toBe('stopping')
    expect(await backend.next()).toEqual({ type: 'stdin', data: 'Ada\r' })
    expect(await backend.next()).toEqual({ type: 'resize', cols: 120, rows: 30 })
    expect(await backend.next()).toEqual({ type: 'stop' })
    backend.json({ type: 'exit', run: 'r1', code: -15, reason: 'stopped', message: 'Stopped.' })
    await until(client, 'exit')
    expect(client.status).toBe('ready')
  })

  it('reports a server error and the socket stays usable', async () => {
    makeClient()
    const connection = server.nextConnection()
    client.run({ ...RUN })
    const backend = await connection
    await backend.next()
    backend.json({ type: 'error', code: 'busy', message: 'All sandboxes are busy' })
    expect(await until(client, 'error')).toEqual({ type: 'error', code: 'busy', message: 'All sandboxes are busy' })
    expect(client.status).toBe('ready')
    client.run({ ...RUN })
    expect(await backend.next()).toMatchObject({ type: 'run' })
    expect(server.connections).toHaveLength(1)
  })

  it('turns a malformed frame into a protocol error and ignores message types it does not know', async () => {
    makeClient()
    const errors: unknown[] = []
    client.on('error', (e) => errors.push(e))
    const connection = server.nextConnection()
    client.connect()
    const backend = await connection
    backend.socket.send('{not json')
    backend.socket.send(JSON.stringify({ type: 'surprise', run: 'r1' }))
    backend.json({ type: 'display', run: 'r1', width: 640, height: 480 })
    expect(await until(client, 'display')).toEqual({ type: 'display', run: 'r1', width: 640, height: 480 })
    expect(errors).toEqual([{ code: 'protocol', message: 'server sent a text frame that is not JSON' }])
    expect(client.status).toBe('ready')
  })

  it('keeps "starting" when the replaced run reports its exit before the new run starts', async () => {
    makeClient()
    const connection = server.nextConnection()
    client.run({ ...RUN })
    const backend = await connection
    await backend.next()
    backend.json({ type: 'started', run: 'old', mode: 'python', python: '3.10.13', display: null })
    await until(client, 'started')
    client.run({ ...RUN })
    await backend.next()
    backend.json({ type: 'exit', run: 'old', code: null, reason: 'stopped', message: 'Stopped' })
    await until(client, 'exit')
    expect(client.status).toBe('starting')
    backend.json({ type: 'started', run: 'new', mode: 'python', python: '3.10.13', display: null })
    await until(client, 'started')
    expect(client.status).toBe('running')
  })

  it('reconnects after a dropped socket and resumes the run from the received offset', async () => {
    makeClient()
    const output = collectOutput(client)
    const first = server.nextConnection()
    client.run({ ...RUN })
    const backend = await first
    await backend.next()
    backend.json({ type: 'started', run: 'r1', mode: 'python', python: '3.10.13', display: null, resume: 'secret' })
    backend.bytes('12345')
    await until(client, 'output')
    const second = server.nextConnection()
    backend.socket.terminate() // school Wi-Fi: no close handshake
    await until(client, 'status', (s) => s === 'reconnecting')
    const again = await second
    expect(await again.next()).toEqual({ type: 'resume', run: 'r1', token: 'secret', offset: 5 })
    again.json({ type: 'resumed', run: 'r1' })
    again.bytes('678')
    await until(client, 'resumed')
    expect(client.status).toBe('running')
    expect(client.stdin('x')).toBe(true)
    expect(await again.next()).toEqual({ type: 'stdin', data: 'x' })
    expect(output()).toBe('12345678')
    expect(client.outputOffset).toBe(8)
  })

  it('gives the run up when the server answers the resume with "gone"', async () => {
    makeClient()
    const first = server.nextConnection()
    client.run({ ...RUN })
    const backend = await first
    await backend.next()
    backend.json({ type: 'started', run: 'r1', mode: 'python', python: '3.10.13', display: null, resume: 'secret' })
    await until(client, 'started')
    const second = server.nextConnection()
    backend.socket.terminate()
    const again = await second
    await again.next()
    again.json({ type: 'error', code: 'gone', message: 'That run has ended' })
    expect(await until(client, 'error')).toMatchObject({ code: 'gone' })
    expect(client.status).toBe('ready')
    expect(client.stdin('x')).toBe(false)
  })

  it('takes the fresh display ticket a resumed brings, and keeps the old display when none comes', async () => {
    makeClient()
    const first = server.nextConnection()
    client.run({ ...RUN, mode: 'pygame' })
    const backend = await first
    await backend.next()
    const display = { url: '/v1/runs/r1/vnc?ticket=first', width: 480, height: 320 }
    backend.json({ type: 'started', run: 'r1', mode: 'pygame', python: '3.10.13', display, resume: 'secret' })
    await until(client, 'started')
    expect(client.display).toEqual(display)

    const second = server.nextConnection()
    backend.socket.terminate()
    const again = await second
    expect(await again.next()).toMatchObject({ type: 'resume', run: 'r1' })
    const fresh = { url: '/v1/runs/r1/vnc?ticket=fresh', width: 480, height: 320 }
    again.json({ type: 'resumed', run: 'r1', display: fresh })
    expect(await until(client, 'resumed')).toEqual({ type: 'resumed', run: 'r1', display: fresh })
    expect(client.display).toEqual(fresh)
    expect(client.displayUrl(client.display!.url)).toBe(`${server.url}/v1/runs/r1/vnc?ticket=fresh`)

    // A server that predates resumed.display: the client keeps what it has.
    const third = server.nextConnection()
    again.socket.terminate()
    const last = await third
    await last.next()
    last.json({ type: 'resumed', run: 'r1' })
    expect(await until(client, 'resumed')).toEqual({ type: 'resumed', run: 'r1', display: null })
    expect(client.display).toEqual(fresh)
    expect(client.status).toBe('running')
  })

  it('starts over cleanly after "gone": ready, Run works, the prepared mode is asked again', async () => {
    makeClient()
    const first = server.nextConnection()
    client.prepare('pygame')
    const backend = await first
    expect(await backend.next()).toEqual({ type: 'prepare', mode: 'pygame' })
    client.run({ ...RUN, mode: 'pygame' })
    await backend.next()
    backend.json({ type: 'started', run: 'r1', mode: 'pygame', python: '3.10.13', display: null, resume: 'secret' })
    await until(client, 'started')
    const second = server.nextConnection()
    backend.socket.terminate()
    const again = await second
    expect(await again.next()).toMatchObject({ type: 'resume', run: 'r1' })
    // The replica that ran it died (scale-out), or the run ended: the server cannot resume it.
    again.json({ type: 'error', code: 'gone', message: 'That run is over or cannot be resumed; press Run to start again.' })
    await until(client, 'status', (s) => s === 'ready')
    expect(await again.next()).toEqual({ type: 'prepare', mode: 'pygame' }) // a new session: warm it again
    expect(client.stdin('x')).toBe(false)
    client.run({ ...RUN })
    expect(await again.next()).toEqual({ type: 'run', ...RUN })
    expect(client.status).toBe('starting')
    again.json({ type: 'started', run: 'r2', mode: 'python', python: '3.10.13', display: null, resume: 'other' })
    await until(client, 'started')
    expect(client.status).toBe('running')
    expect(client.runId).toBe('r2')
  })

  it('gives the run up on "gone" after "resumed" (the replay fell behind while catching up)', async () => {
    makeClient()
    const first = server.nextConnection()
    client.run({ ...RUN })
    const backend = await first
    await backend.next()
    backend.json({ type: 'started', run: 'r1', mode: 'python', python: '3.10.13', display: null, resume: 'secret' })
    await until(client, 'started')
    const second = server.nextConnection()
    backend.socket.terminate()
    const again = await second
    await again.next()
    again.json({ type: 'resumed', run: 'r1', display: null })
    await until(client, 'resumed')
    again.json({ type: 'error', code: 'gone', message: 'That run is over or cannot be resumed; press Run to start again.' })
    expect(await until(client, 'error')).toMatchObject({ code: 'gone' })
    expect(client.status).toBe('ready')
    expect(client.stdin('x')).toBe(false)
  })

  it('keeps "starting" when Run was pressed while the resume was unanswered and the answer is "gone"', async () => {
    makeClient()
    const first = server.nextConnection()
    client.run({ ...RUN })
    const backend = await first
    await backend.next()
    backend.json({ type: 'started', run: 'r1', mode: 'python', python: '3.10.13', display: null, resume: 'secret' })
    await until(client, 'started')
    const second = server.nextConnection()
    backend.socket.terminate()
    const again = await second
    expect(await again.next()).toMatchObject({ type: 'resume', run: 'r1' })
    client.run({ ...RUN })
    expect(await again.next()).toEqual({ type: 'run', ...RUN })
    again.json({ type: 'error', code: 'gone', message: 'That run is over or cannot be resumed; press Run to start again.' })
    await until(client, 'error')
    expect(client.status).toBe('starting')
    again.json({ type: 'started', run: 'r2', mode: 'python', python: '3.10.13', display: null })
    await until(client, 'started')
    expect(client.status).toBe('running')
  })

  it('gives up after the configured number of failed attempts', async () => {
    const url = server.url
    await server.close()
    let opened = 0
    const counting = (u: string) => { opened += 1; return socketFactory(u) }
    client = new PyplayClient({ url, socketFactory: counting, reconnectInitialDelayMs: 5, reconnectMaxAttempts: 3 })
    const failed = until(client, 'error')
    client.connect()
    expect(await failed).toMatchObject({ code: 'connection' })
    expect(client.status).toBe('closed')
    expect(opened).toBe(4) // the first attempt and 3 reconnects: a limit of 1 or 5 would fail here
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(opened).toBe(4) // and no more after giving up
    server = await startScriptedServer() // for afterEach
  })
})

describe('PyplayClient prepare and sandbox status', () => {
  it('sends a prepare asked before the socket opened as the first message, and reports the answer', async () => {
    makeClient()
    const connection = server.nextConnection()
    client.prepare('python')
    client.prepare('pygame') // only the latest mode is kept
    const backend = await connection
    expect(await backend.next()).toEqual({ type: 'prepare', mode: 'pygame' })
    backend.status('starting', 'pygame', 'Starting a fresh sandbox…')
    backend.status('ready', 'pygame', 'Ready to run.')
    expect(await until(client, 'sandbox', (s) => s.state === 'ready'))
      .toEqual({ type: 'status', state: 'ready', mode: 'pygame', message: 'Ready to run.' })
    expect(client.status).toBe('ready')
    client.prepare('turtle')
    expect(await backend.next()).toEqual({ type: 'prepare', mode: 'turtle' })
    expect(backend.messages).toHaveLength(2)
  })

  it('reports queued and starting between run and started without changing the run status', async () => {
    makeClient()
    const seen: unknown[] = []
    client.on('sandbox', (s) => seen.push(s))
    const connection = server.nextConnection()
    client.run({ ...RUN })
    const backend = await connection
    await backend.next()
    backend.status('queued', 'python', 'You are number 3 in line.', 3)
    backend.status('starting', 'python', 'Starting…')
    await until(client, 'sandbox', (s) => s.state === 'starting')
    expect(client.status).toBe('starting')
    backend.json({ type: 'started', run: 'r1', mode: 'python', python: '3.10.13', display: null })
    await until(client, 'started')
    expect(seen).toEqual([
      { type: 'status', state: 'queued', mode: 'python', message: 'You are number 3 in line.', position: 3 },
      { type: 'status', state: 'starting', mode: 'python', message: 'Starting…' },
    ])
  })

  it('holds a prepare asked while a run is live and sends it when the run ends', async () => {
    makeClient()
    const connection = server.nextConnection()
    client.run({ ...RUN })
    const backend = await connection
    await backend.next()
    backend.json({ type: 'started', run: 'r1', mode: 'python', python: '3.10.13', display: null })
    await until(client, 'started')
    client.prepare('turtle')
    client.stdin('x')
    expect(await backend.next()).toEqual({ type: 'stdin', data: 'x' }) // no prepare before it
    backend.json({ type: 'exit', run: 'r1', code: 0, reason: 'exited', message: '' })
    expect(await backend.next()).toEqual({ type: 'prepare', mode: 'turtle' })
  })

  it('asks again for the prepared mode on the socket that replaces a dropped one', async () => {
    makeClient()
    const first = server.nextConnection()
    client.prepare('pygame')
    const backend = await first
    expect(await backend.next()).toEqual({ type: 'prepare', mode: 'pygame' })
    const second = server.nextConnection()
    backend.socket.terminate()
    const again = await second
    expect(await again.next()).toEqual({ type: 'prepare', mode: 'pygame' })
  })

  it('resumes a live run on a new socket without a prepare, and prepares once the run ends', async () => {
    makeClient()
    const first = server.nextConnection()
    client.prepare('python')
    const backend = await first
    await backend.next()
    client.run({ ...RUN })
    await backend.next()
    backend.json({ type: 'started', run: 'r1', mode: 'python', python: '3.10.13', display: null, resume: 'secret' })
    await until(client, 'started')
    const second = server.nextConnection()
    backend.socket.terminate()
    const again = await second
    expect(await again.next()).toEqual({ type: 'resume', run: 'r1', token: 'secret', offset: 0 })
    again.json({ type: 'resumed', run: 'r1' })
    again.json({ type: 'exit', run: 'r1', code: 0, reason: 'exited', message: '' })
    await until(client, 'exit')
    client.prepare('pygame')
    expect(await again.next()).toEqual({ type: 'prepare', mode: 'pygame' })
    expect(again.messages).toHaveLength(2)
  })
})

describe('displaySocketUrl', () => {
  it('joins the display path to the backend origin with a WebSocket scheme', () => {
    expect(displaySocketUrl('ws://localhost:8000', '/v1/runs/r1/vnc?ticket=t')).toBe('ws://localhost:8000/v1/runs/r1/vnc?ticket=t')
    expect(displaySocketUrl('http://127.0.0.1:9000/', '/v1/runs/r1/vnc?ticket=t')).toBe('ws://127.0.0.1:9000/v1/runs/r1/vnc?ticket=t')
    expect(displaySocketUrl('wss://play.example.org/v1/session', '/v1/runs/r/vnc?ticket=a%2Fb')).toBe('wss://play.example.org/v1/runs/r/vnc?ticket=a%2Fb')
  })
})

/** A Map-backed Web Storage, as sessionStorage is for one tab. */
class MemoryStorage {
  items = new Map<string, string>()
  getItem(key: string): string | null { return this.items.get(key) ?? null }
  setItem(key: string, value: string): void { this.items.set(key, value) }
  removeItem(key: string): void { this.items.delete(key) }
}

/** Starts a resumable run on a fresh client and drops its socket; resolves with the next connection. */
async function runThenDrop(options: Partial<PyplayClientOptions> = {}, display: unknown = null) {
  makeClient(options)
  const first = server.nextConnection()
  client.run({ ...RUN })
  const backend = await first
  await backend.next()
  backend.json({ type: 'started', run: 'old', mode: 'python', python: '3.10.13', display, resume: 'secret' })
  backend.bytes('old output\r\n')
  await until(client, 'output')
  const second = server.nextConnection()
  const reconnecting = until(client, 'status', (s) => s === 'reconnecting')
  backend.socket.terminate()
  await reconnecting
  return second
}

describe('PyplayClient during a reconnect', () => {
  it('Run pressed while reconnecting starts the new run cleanly: no replay, no "running" for the old run', async () => {
    const second = await runThenDrop()
    const statuses: string[] = []
    client.on('status', (s) => statuses.push(s))
    const output = collectOutput(client)
    let resumedEvents = 0
    client.on('resumed', () => { resumedEvents += 1 })
    client.run({ ...RUN })
    const again = await second
    // The old run is resumed so this session keeps its sandbox, and the run replaces it there.
    expect(await again.next()).toEqual({ type: 'resume', run: 'old', token: 'secret', offset: 12 })
    expect(await again.next()).toEqual({ type: 'run', ...RUN })
    again.json({ type: 'resumed', run: 'old', display: null })
    again.bytes('old tail\r\n')
    again.json({ type: 'exit', run: 'old', code: null, reason: 'stopped', message: 'Stopped' })
    again.json({ type: 'started', run: 'new', mode: 'python', python: '3.10.13', display: null, resume: 't2' })
    again.bytes('new output\r\n')
    await until(client, 'output')
    expect(output()).toBe('new output\r\n')
    expect(statuses).toEqual(['starting', 'running'])
    expect(resumedEvents).toBe(0)
    expect(client.runId).toBe('new')
  })

  it('Stop pressed while reconnecting stops the resumed run', async () => {
    const second = await runThenDrop()
    expect(client.runLive).toBe(true)
    client.stop()
    expect(client.status).toBe('reconnecting')
    const again = await second
    expect(await again.next()).toMatchObject({ type: 'resume', run: 'old' })
    expect(await again.next()).toEqual({ type: 'stop' })
    again.json({ type: 'resumed', run: 'old', display: null })
    await until(client, 'resumed')
    expect(client.status).toBe('stopping')
    again.json({ type: 'exit', run: 'old', code: null, reason: 'stopped', message: 'Stopped' })
    await until(client, 'exit')
    expect(client.status).toBe('ready')
    expect(client.runLive).toBe(false)
  })

  it('re-sends the terminal size after resumed when it changed during the drop', async () => {
    const second = await runThenDrop()
    client.resize({ cols: 100, rows: 30 }) // the socket is down: kept, not lost
    const again = await second
    expect(await again.next()).toMatchObject({ type: 'resume' })
    again.json({ type: 'resumed', run: 'old', display: null })
    expect(await again.next()).toEqual({ type: 'resize', cols: 100, rows: 30 })
  })

  it('re-sends the terminal size after started when it changed while the run was starting', async () => {
    makeClient()
    const connection = server.nextConnection()
    client.run({ ...RUN })
    const backend = await connection
    await backend.next()
    client.resize({ cols: 90, rows: 20 }) // before started: the server has no program to resize yet
    client.resize({ cols: 91, rows: 21 })
    backend.json({ type: 'started', run: 'r1', mode: 'python', python: '3.10.13', display: null })
    expect(await backend.next()).toEqual({ type: 'resize', cols: 91, rows: 21 })
    client.stop()
    expect(await backend.next()).toEqual({ type: 'stop' }) // nothing else was sent in between
  })
})

describe('PyplayClient with a resume store (a reload during a run)', () => {
  it('keeps the live run\'s token in the store and forgets it at the exit', async () => {
    const storage = new MemoryStorage()
    makeClient({ resumeStore: sessionResumeStore(storage) })
    const connection = server.nextConnection()
    client.run({ ...RUN })
    const backend = await connection
    await backend.next()
    backend.json({ type: 'started', run: 'r1', mode: 'python', python: '3.10.13', display: null, resume: 'secret' })
    await until(client, 'started')
    expect(JSON.parse(storage.getItem(RESUME_KEY)!)).toMatchObject({ run: 'r1', resume: 'secret' })
    backend.json({ type: 'exit', run: 'r1', code: 0, reason: 'exited', message: '' })
    await until(client, 'exit')
    expect(storage.getItem(RESUME_KEY)).toBeNull()
  })

  it('a reloaded page resumes the saved run from the start of its output, with the fresh display', async () => {
    const storage = new MemoryStorage()
    const display = { url: '/v1/runs/r1/vnc?ticket=old', width: 480, height: 320 }
    storage.setItem(RESUME_KEY, JSON.stringify({ type: 'started', run: 'r1', mode: 'pygame', python: '3.10.13', display, resume: 'secret' }))
    makeClient({ resumeStore: sessionResumeStore(storage) })
    const output = collectOutput(client)
    client.resize({ cols: 70, rows: 20 }) // the reloaded terminal's size, before the socket opens
    const connection = server.nextConnection()
    client.connect()
    expect(client.restored).toMatchObject({ run: 'r1', mode: 'pygame' })
    expect(client.runLive).toBe(true)
    const backend = await connection
    expect(await backend.next()).toEqual({ type: 'resume', run: 'r1', token: 'secret', offset: 0 })
    const fresh = { url: '/v1/runs/r1/vnc?ticket=fresh', width: 480, height: 320 }
    backend.json({ type: 'resumed', run: 'r1', display: fresh })
    backend.bytes('everything so far\r\n')
    await until(client, 'output')
    expect(client.status).toBe('running')
    expect(client.display).toEqual(fresh)
    expect(output()).toBe('everything so far\r\n')
    expect(await backend.next()).toEqual({ type: 'resize', cols: 70, rows: 20 })
  })

  it('a saved run that is gone leaves the page ready and the store empty; a bad saved value is no run', async () => {
    const storage = new MemoryStorage()
    storage.setItem(RESUME_KEY, JSON.stringify({ type: 'started', run: 'r1', mode: 'python', python: '', display: null, resume: 'secret' }))
    makeClient({ resumeStore: sessionResumeStore(storage) })
    const connection = server.nextConnection()
    client.connect()
    const backend = await connection
    await backend.next()
    backend.json({ type: 'error', code: 'gone', message: 'That run has ended' })
    await until(client, 'error')
    expect(client.status).toBe('ready')
    expect(storage.getItem(RESUME_KEY)).toBeNull()
    client.close()

    for (const bad of ['{not json', '[]', '{"type":"started","run":7}', '{"type":"exit","run":"r1"}']) {
      storage.setItem(RESUME_KEY, bad)
      expect(sessionResumeStore(storage).load()).toBeNull()
    }
    expect(sessionResumeStore(null).load()).toBeNull()
  })
})
