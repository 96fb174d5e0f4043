// Framework-free client for pyplay protocol v1: one WebSocket per IDE tab, many runs on it,
// reconnect with backoff after a dropped socket and resume the live run where output stopped.
import { Emitter } from './emitter'
import type { ResumeStore } from './resume-store'
import {
  type ClientMessage, type DisplayInfo, type DisplayMessage, type ErrorCode, type ExitMessage, type Mode, type ResumedMessage,
  type RunRequest, type ServerMessage, type StartedMessage, type StatusMessage, type TermSize,
  ProtocolError, displaySocketUrl, parseServerMessage, sessionSocketUrl,
} from './protocol'

export * from './protocol'
export * from './resume-store'

export type ClientStatus =
  | 'idle' | 'connecting' | 'ready' | 'starting' | 'running' | 'stopping' | 'reconnecting' | 'closed'

/** Errors the server sends, plus the two the client itself reports. */
export interface ClientError { code: ErrorCode | 'connection' | 'protocol'; message: string }

export interface ClientEvents {
  output: Uint8Array
  started: StartedMessage
  exit: ExitMessage
  resumed: ResumedMessage
  display: DisplayMessage
  error: ClientError
  status: ClientStatus
  /** The server's word on the session's sandbox: queued, starting, ready (protocol `status`). */
  sandbox: StatusMessage
}

/** The subset of the WHATWG WebSocket the client uses (browsers' and the `ws` package's both fit). */
export interface SocketLike {
  binaryType: string
  readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: unknown) => void) | null
  onerror: ((event: unknown) => void) | null
}
export type SocketFactory = (url: string) => SocketLike

export interface PyplayClientOptions {
  /** Backend base URL, e.g. ws://localhost:8000 (http(s) is converted). */
  url: string
  /** Defaults to the global WebSocket. */
  socketFactory?: SocketFactory
  reconnectInitialDelayMs?: number
  reconnectMaxDelayMs?: number
  /** Consecutive failed connection attempts before giving up (status `closed`). */
  reconnectMaxAttempts?: number
  connectTimeoutMs?: number
  /** Messages held while the socket is (re)connecting; the oldest are dropped past this. */
  maxQueuedMessages?: number
  /**
   * Keeps the live run's resume token where a reloaded page finds it (`sessionResumeStore()` in
   * a browser: per tab). With one, `connect()` resumes the run the page had before a reload.
   */
  resumeStore?: ResumeStore
}

interface LiveRun { id: string; token: string | null; offset: number; live: boolean }

const OPEN = 1

export class PyplayClient extends Emitter<ClientEvents> {
  private readonly options: Required<Omit<PyplayClientOptions, 'socketFactory' | 'resumeStore'>> & { socketFactory: SocketFactory }
  private readonly store: ResumeStore | null
  private socket: SocketLike | null = null
  private wantOpen = false
  private attempts = 0
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private connectTimer: ReturnType<typeof setTimeout> | null = null
  private outbox: ClientMessage[] = []
  private run_: LiveRun | null = null
  /** The current run's display, with the latest ticket (`started`, then each `resumed`). */
  private display_: DisplayInfo | null = null
  private resuming = false
  private status_: ClientStatus = 'idle'
  /** The mode the caller last asked to have warm (`prepare`); asked again on every new socket. */
  private preparedMode: Mode | null = null
  /** A prepare for `preparedMode` has not reached the server yet (no socket, or a run had the sandbox). */
  private prepareOwed = false
  /** The terminal size the caller last gave, and the one the server has (with `run` or `resize`). */
  private term: TermSize | null = null
  private sentTerm: TermSize | null = null
  /** Stop was pressed while the socket was down: the resumed run is being stopped, not running. */
  private stopOwed = false
  /** The `started` of a run this page did not start: restored from the resume store after a reload. */
  private restored_: StartedMessage | null = null

  constructor(options: PyplayClientOptions) {
    super()
    const { resumeStore, ...rest } = options
    this.store = resumeStore ?? null
    this.options = {
      reconnectInitialDelayMs: 250,
      reconnectMaxDelayMs: 5000,
      reconnectMaxAttempts: 20,
      connectTimeoutMs: 10000,
      maxQueuedMessages: 256,
      socketFactory: defaultSocketFactory,
      ...rest,
    }
  }

  get status(): ClientStatus { return this.status_ }
  /** The current run's id, or null before the first `started`. */
  get runId(): string | null { return this.run_?.id ?? null }
  /** Output bytes of the current run received so far (what a resume asks the server to skip). */
  get outputOffset(): number { return this.run_?.offset ?? 0 }
  /**
   * The current run's display (null in python mode): `started.display`, replaced by the one a
   * `resumed` brings, whose ticket is fresh. Pass its `url` to `displayUrl()`.
   */
  get display(): DisplayInfo | null { return this.display_ }
  /** A run is live on the server (also while the socket is down and the run waits to be resumed). */
  get runLive(): boolean { return Boolean(this.run_?.live) }
  /**
   * The `started` of the run a reloaded page is resuming (from the resume store), until the next
   * run starts; its display URL is stale: `resumed` brings a fresh one.
   */
  get restored(): StartedMessage | null { return this.restored_ }

  /** The display WebSocket URL for a `started.display.url` (or `resumed.display.url`) path. */
  displayUrl(path: string): string { return displaySocketUrl(this.options.url, path) }

  /** Open the session socket (idempotent). Runs sent before it opens are queued. */
  connect(): void {
    this.wantOpen = true
    if (this.socket || this.retryTimer) return
    this.restore()
    this.openSocket()
  }

  /** Start a run; a live run on this socket is stopped by the server first. */
  run(request: RunRequest): void {
    this.resuming = false
    this.stopOwed = false
    this.term = request.term
    this.sentTerm = request.term
    this.setStatus('starting')
    this.connect()
    this.send({ type: 'run', ...request })
  }

  /**
   * Ask the server to get this session's sandbox ready for `mode` now, so the next Run is warm.
   * Sent at once when the socket is idle; while a run is starting or live (the server would ignore
   * it) it waits until the run ends; without a socket it waits for the next one. Only the latest
   * mode is kept, and it is asked again after every reconnect (a new socket may be a new session).
   * The server answers with a `sandbox` event (`queued`/`starting` first if it has to wait).
   */
  prepare(mode: Mode): void {
    this.preparedMode = mode
    this.prepareOwed = true
    this.connect()
    this.sendOwedPrepare()
  }

  /** Keystrokes for the program (xterm.js `onData`); dropped when no run is live. */
  stdin(data: string): boolean {
    if (!this.run_?.live) return false
    this.send({ type: 'stdin', data })
    return true
  }

  /**
   * The terminal's size. Sent at once while a run is live on an open socket; otherwise kept and
   * sent after the next `started` or `resumed` (a resize before those would be lost).
   */
  resize(size: TermSize): void {
    this.term = { cols: size.cols, rows: size.rows }
    if (this.status_ === 'running' || this.status_ === 'stopping') this.sendTerm()
  }

  /**
   * Ask the server to stop the run; status is `stopping` until its `exit` arrives. While the
   * socket is down the stop waits for the resume, and the resumed run is then stopped.
   */
  stop(): void {
    this.outbox = this.outbox.filter((message) => message.type !== 'run')
    if (this.status_ === 'starting' && !this.socket) this.setStatus(this.run_?.live ? 'reconnecting' : 'ready')
    if (this.status_ === 'running') this.setStatus('stopping')
    if (this.status_ === 'reconnecting' && this.run_?.live) this.stopOwed = true
    if (this.status_ === 'reconnecting' && !this.run_?.live) return // nothing to stop
    this.send({ type: 'stop' })
  }

  /** Close for good: no reconnect. The server stops the run after its grace period. */
  close(): void {
    this.wantOpen = false
    this.clearTimers()
    const socket = this.socket
    this.socket = null
    if (socket) { detach(socket); socket.close(1000, 'client closed') }
    this.setStatus('closed')
  }

  private openSocket(): void {
    const resumable = Boolean(this.run_?.live && this.run_.token)
    // A Run pressed meanwhile is what the student waits for: it stays `starting`.
    this.setStatus(this.status_ === 'starting' ? 'starting' : this.attempts > 0 || resumable ? 'reconnecting' : 'connecting')
    let socket: SocketLike
    try {
      socket = this.options.socketFactory(sessionSocketUrl(this.options.url))
    } catch (error) {
      this.emit('error', { code: 'connection', message: `Cannot open the connection: ${String(error)}` })
      this.scheduleReconnect()
      return
    }
    socket.binaryType = 'arraybuffer'
    socket.onopen = () => this.handleOpen(socket)
    socket.onmessage = (event) => this.handleMessage(event.data)
    socket.onclose = () => this.handleClose(socket)
    socket.onerror = () => { /* a close event always follows; handled there */ }
    this.socket = socket
    this.connectTimer = setTimeout(() => socket.close(), this.options.connectTimeoutMs)
  }

  private handleOpen(socket: SocketLike): void {
    if (socket !== this.socket) return
    this.clearTimers()
    this.attempts = 0
    const run = this.run_
    if (run?.live && run.token) {
      // A resumed run keeps its session and sandbox; a prepare still owed waits for its end.
      this.resuming = true
      this.sendNow({ type: 'resume', run: run.id, token: run.token, offset: run.offset })
    } else {
      this.prepareOwed = this.preparedMode !== null
      if (this.status_ !== 'starting') this.setStatus('ready')
    }
    // Before the outbox: it holds no run here unless status is `starting`, and then no prepare is sent.
    this.sendOwedPrepare()
    const queued = this.outbox
    this.outbox = []
    for (const message of queued) this.sendNow(message)
  }

  private handleMessage(data: unknown): void {
    if (typeof data === 'string') {
      let message: ServerMessage | null
      try {
        message = parseServerMessage(data)
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error
        this.emit('error', { code: 'protocol', message: error.message })
        return
      }
      if (message) this.dispatch(message)
      return
    }
    const bytes = toBytes(data)
    if (!bytes) return
    if (this.run_) this.run_.offset += bytes.byteLength
    // Before `started`, output is the replaced run's (its replay after a resume, or its last words).
    if (this.status_ === 'starting') return
    this.emit('output', bytes)
  }

  private dispatch(message: ServerMessage): void {
    switch (message.type) {
      case 'started':
        this.run_ = { id: message.run, token: message.resume ?? null, offset: 0, live: true }
        this.display_ = message.display
        this.restored_ = null
        if (message.resume) this.store?.save(message)
        this.setStatus('running')
        this.sendTermIfChanged()
        this.emit('started', message)
        break
      case 'exit':
        if (this.run_?.id === message.run) { this.run_.live = false; this.store?.clear() }
        this.stopOwed = false
        // While "starting", a newer run was requested: this exit is the replaced run's.
        if (this.status_ !== 'starting') this.setStatus('ready')
        this.emit('exit', message)
        break
      case 'resumed':
        this.resuming = false
        // Run was pressed while the socket was down: the server stops this run before the new one
        // starts, so the old run is neither shown as running nor its output replayed.
        if (this.status_ === 'starting') break
        // The display ticket from `started` expires (60 s by default); this one is fresh.
        if (message.display && this.run_?.id === message.run) this.display_ = message.display
        this.setStatus(this.stopOwed ? 'stopping' : 'running')
        this.sendTermIfChanged()
        this.emit('resumed', message)
        break
      case 'error':
        this.handleServerError(message.code)
        this.emit('error', message)
        break
      case 'display':
        this.emit('display', message)
        break
      case 'status':
        this.emit('sandbox', message)
        break
    }
  }

  private handleServerError(code: ErrorCode): void {
    // `gone` only ever answers a `resume`: the run ended, or the server that ran it went away.
    // It can also come just after `resumed`, when the program printed more than the server keeps
    // for replay while it caught up. Either way the run is lost to this tab: start over clean.
    if (code === 'gone' && (this.resuming || this.run_?.live)) {
      this.resuming = false
      this.stopOwed = false
      this.store?.clear()
      if (this.run_) this.run_.live = false
      // While `starting`, the student already pressed Run again: that run's answer decides.
      if (this.status_ === 'starting') return
      this.prepareOwed = this.preparedMode !== null // the run's session is gone with it
      this.setStatus('ready')
    } else if (this.status_ === 'starting') {
      this.setStatus('ready')
    }
  }

  private handleClose(socket: SocketLike): void {
    if (socket !== this.socket) return
    detach(socket)
    this.socket = null
    this.clearTimers()
    if (!this.wantOpen) { this.setStatus('closed'); return }
    if (this.status_ === 'starting' && !this.outbox.some((m) => m.type === 'run')) {
      // The run request may or may not have reached the server; without a token it cannot be resumed.
      this.emit('error', { code: 'connection', message: 'The connection dropped before the program started. Press Run again.' })
      this.setStatus('reconnecting')
    }
    this.scheduleReconnect()
  }

  private scheduleReconnect(): void {
    this.attempts += 1
    if (this.attempts > this.options.reconnectMaxAttempts) {
      this.wantOpen = false
      if (this.run_) this.run_.live = false
      this.setStatus('closed')
      this.emit('error', { code: 'connection', message: 'Cannot reach the pyplay server. Check the connection and press Run.' })
      this.attempts = 0
      return
    }
    this.setStatus(this.outbox.some((message) => message.type === 'run') ? 'starting' : 'reconnecting')
    const delay = Math.min(this.options.reconnectMaxDelayMs, this.options.reconnectInitialDelayMs * 2 ** (this.attempts - 1))
    this.retryTimer = setTimeout(() => { this.retryTimer = null; if (this.wantOpen) this.openSocket() }, delay)
  }

  private send(message: ClientMessage): void {
    if (this.socket?.readyState === OPEN) {
      this.sendNow(message)
      return
    }
    this.outbox.push(message)
    if (this.outbox.length > this.options.maxQueuedMessages) this.outbox.shift()
    if (!this.socket && !this.retryTimer && this.wantOpen) this.openSocket()
  }

  private sendNow(message: ClientMessage): void {
    this.socket?.send(JSON.stringify(message))
  }

  /** Restores the run a reloaded page had, from the resume store, so the first socket resumes it. */
  private restore(): void {
    if (this.run_ || !this.store) return
    const saved = this.store.load()
    if (!saved?.resume) return
    this.run_ = { id: saved.run, token: saved.resume, offset: 0, live: true }
    this.display_ = saved.display
    this.restored_ = saved
  }

  private sendTerm(): void {
    if (!this.term || this.socket?.readyState !== OPEN) return
    this.sentTerm = this.term
    this.sendNow({ type: 'resize', cols: this.term.cols, rows: this.term.rows })
  }

  /** After `started` or `resumed` (a reloaded page: the server's size is unknown) the server learns the latest size. */
  private sendTermIfChanged(): void {
    const { term, sentTerm } = this
    if (term && (!sentTerm || term.cols !== sentTerm.cols || term.rows !== sentTerm.rows)) this.sendTerm()
  }

  /** Sends the owed prepare when the socket is open and no run holds the sandbox (status `ready`). */
  private sendOwedPrepare(): void {
    if (!this.prepareOwed || this.preparedMode === null) return
    if (this.status_ !== 'ready' || this.socket?.readyState !== OPEN) return
    this.prepareOwed = false
    this.sendNow({ type: 'prepare', mode: this.preparedMode })
  }

  private setStatus(status: ClientStatus): void {
    if (status === this.status_) return
    this.status_ = status
    this.emit('status', status)
    if (status === 'ready') this.sendOwedPrepare()
  }

  private clearTimers(): void {
    if (this.retryTimer) { clearTimeout(this.retryTimer); this.retryTimer = null }
    if (this.connectTimer) { clearTimeout(this.connectTimer); this.connectTimer = null }
  }
}

function defaultSocketFactory(url: string): SocketLike {
  const Impl = (globalThis as { WebSocket?: new (url: string) => SocketLike }).WebSocket
  if (!Impl) throw new Error('no global WebSocket: pass socketFactory')
  return new Impl(url)
}

function detach(socket: SocketLike): void {
  socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null
}

function toBytes(data: unknown): Uint8Array | null {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  if (data instanceof ArrayBuffer || Object.prototype.toString.call(data) === '[object ArrayBuffer]') {
    return new Uint8Array(data as ArrayBuffer)
  }
  return null
}
