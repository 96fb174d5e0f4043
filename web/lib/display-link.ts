// The display socket of the current run, kept connected across network drops. Framework-free, so
// the IDE's DisplayPane and the unit tests share it; the IDE opens noVNC's RFB through `open`.
//
// A display URL carries a ticket that expires (`ticket_seconds`, 60 s by default) but is checked
// only when a display socket opens. After a drop, a retry with the ticket from `started` is
// therefore refused (close code 4404) once the run is older than that. The session socket's
// `resumed` brings a fresh ticket: while the session is reconnecting, a failed display socket
// waits for it instead of spending its retries, and `resumed` reconnects the display with it.
import type { ClientStatus, PyplayClient } from './pyplay-client'

/** `connecting` also covers waiting to retry; `lost`: retries spent while the program runs. */
export type DisplayPhase = 'connecting' | 'live' | 'lost' | 'ended'

/** One attempt at a display socket. `disconnect()` always leads to one `disconnected()`. */
export interface DisplayConnection { disconnect(): void }

export interface DisplayHandlers {
  /** The RFB handshake completed: the picture is live. */
  connected(): void
  /** The socket closed or never opened (refused ticket, network, the program's window went). */
  disconnected(): void
}

export interface DisplayLinkOptions {
  /** Opens a display socket for `url` (a full ws(s) URL with its ticket). */
  open(url: string, handlers: DisplayHandlers): DisplayConnection
  onPhase?(phase: DisplayPhase): void
  /** A new run's display (or none) replaces the picture: drop the old one. */
  onClear?(): void
  /** A connection closed: the IDE puts the last frame back so the picture stays. */
  onDropped?(): void
  /** Failed reconnects in a row while the session is up before giving up (`lost`). */
  maxRetries?: number
  /** The first retry waits this long; each further one twice as long. */
  retryDelayMs?: number
  /** After the run's `exit`, a display socket still open is closed after this long. */
  exitBackstopMs?: number
}

/** What the link needs of PyplayClient. */
export type DisplayLinkClient = Pick<PyplayClient, 'status' | 'on' | 'displayUrl'>

/** The session statuses in which the run's program is (still) there to show. */
const RUN_LIVE: readonly ClientStatus[] = ['running', 'reconnecting']

export class DisplayLink {
  private readonly options: Required<Omit<DisplayLinkOptions, 'onPhase' | 'onClear' | 'onDropped'>> & DisplayLinkOptions
  private phase_: DisplayPhase = 'connecting'
  private run_: string | null = null
  private url_: string | null = null
  private connection: DisplayConnection | null = null
  /** Bumped for every attempt, so the handlers of an abandoned attempt do nothing. */
  private generation = 0
  private retries = 0
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private backstopTimer: ReturnType<typeof setTimeout> | null = null
  private sessionStatus: ClientStatus
  private readonly unsubscribe: (() => void)[]

  constructor(client: DisplayLinkClient, options: DisplayLinkOptions) {
    this.options = { maxRetries: 5, retryDelayMs: 250, exitBackstopMs: 2000, ...options }
    this.sessionStatus = client.status
    const urlOf = (display: { url: string } | null) => (display ? client.displayUrl(display.url) : null)
    this.unsubscribe = [
      client.on('status', (status) => this.statusChanged(status)),
      client.on('started', (started) => this.show(started.run, urlOf(started.display))),
      client.on('resumed', (resumed) => this.resumed(resumed.run, urlOf(resumed.display))),
      client.on('exit', (exit) => this.ended(exit.run)),
    ]
  }

  get phase(): DisplayPhase { return this.phase_ }
  /** The run whose display this is, or null before the first one. */
  get run(): string | null { return this.run_ }
  /** The display URL a (re)connect uses now: the latest ticket. */
  get url(): string | null { return this.url_ }

  /** A run's display (null: the run has none); `started` does this, and the IDE at mount. */
  show(run: string, url: string | null): void {
    this.abandon()
    this.retries = 0
    this.run_ = run
    this.url_ = url
    this.options.onClear?.()
    if (url) this.open()
  }

  /**
   * The session resumed `run`; `url` is the display with a fresh ticket (null: the server sent
   * none, so the old URL is retried). A live display socket is kept: a ticket is only checked
   * when a socket opens. One that is retrying, waiting or given up reconnects now.
   */
  resumed(run: string, url: string | null): void {
    if (run !== this.run_ || !this.url_) return
    if (url) this.url_ = url
    if (this.connection && this.phase_ === 'live') return
    // Stop was pressed during the drop: the run is resumed only to be stopped; the picture stays frozen.
    if (this.sessionStatus === 'stopping') { if (this.phase_ !== 'ended') this.setPhase('ended'); return }
    this.retries = 0
    this.open()
  }

  /** Stop following the client and close the display socket (the IDE unmounts). */
  dispose(): void {
    for (const off of this.unsubscribe.splice(0)) off()
    this.abandon()
  }

  private statusChanged(status: ClientStatus): void {
    this.sessionStatus = status
    // Stop kills the program and with it its window; closing the display first keeps the frame
    // the student saw when pressing Stop instead of the empty screen that follows.
    if (status === 'stopping') { this.clearRetry(); this.connection?.disconnect(); return }
    if (RUN_LIVE.includes(status) || this.connection) return
    // The run is over for this tab (its exit, a `gone` resume, or the session gave up).
    this.clearRetry()
    if (this.url_ && this.phase_ !== 'ended') this.setPhase('ended')
  }

  private ended(run: string): void {
    if (run !== this.run_) return
    this.clearRetry()
    if (!this.connection) { if (this.url_) this.setPhase('ended'); return }
    // The sandbox closes the display socket when the program goes; this is only a backstop.
    const mine = this.generation
    if (this.backstopTimer) clearTimeout(this.backstopTimer)
    this.backstopTimer = setTimeout(() => {
      this.backstopTimer = null
      if (mine === this.generation) this.connection?.disconnect()
    }, this.options.exitBackstopMs)
  }

  private open(): void {
    const url = this.url_
    if (!url) return
    this.abandon()
    const mine = this.generation
    this.setPhase('connecting')
    let closed = false
    const connection = this.options.open(url, {
      connected: () => {
        if (mine !== this.generation) return
        this.retries = 0
        this.setPhase('live')
      },
      disconnected: () => {
        if (closed) return
        closed = true
        if (mine === this.generation) this.dropped()
      },
    })
    if (mine === this.generation && !closed) this.connection = connection
  }

  private dropped(): void {
    this.connection = null
    this.options.onDropped?.()
    if (!RUN_LIVE.includes(this.sessionStatus)) { this.setPhase('ended'); return }
    if (this.sessionStatus === 'reconnecting') {
      // The session socket is down or its resume unanswered: this ticket may be refused by now,
      // and retrying would spend the retries on refusals. `resumed` brings a fresh ticket.
      this.setPhase('connecting')
      return
    }
    if (this.retries >= this.options.maxRetries) { this.setPhase('lost'); return }
    this.retries += 1
    this.setPhase('connecting')
    const mine = this.generation
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      if (mine !== this.generation) return
      // The session socket went down meanwhile (both usually drop together): wait for its resume.
      if (this.sessionStatus !== 'reconnecting') this.open()
    }, this.options.retryDelayMs * 2 ** (this.retries - 1))
  }

  /** Ends the current attempt (its handlers go quiet) and any wait. */
  private abandon(): void {
    this.generation += 1
    this.clearRetry()
    if (this.backstopTimer) { clearTimeout(this.backstopTimer); this.backstopTimer = null }
    const connection = this.connection
    this.connection = null
    connection?.disconnect()
  }

  private clearRetry(): void {
    if (this.retryTimer) { clearTimeout(this.retryTimer); this.retryTimer = null }
  }

  private setPhase(phase: DisplayPhase): void {
    if (phase === this.phase_) return
    this.phase_ = phase
    this.options.onPhase?.(phase)
  }
}
