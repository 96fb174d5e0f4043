// One protocol v1 client per tab, with the reactive view of it the panes render.
import { inject, reactive, shallowRef, type InjectionKey, type ShallowRef } from 'vue'
import {
  PyplayClient, sessionResumeStore, type DisplayInfo, type Mode, type ScreenSize, type SocketFactory, type TermSize,
} from '~~/lib/pyplay-client'
import { workerSocketFactory } from '~~/lib/worker-socket'
import type { SessionView } from '~~/lib/status-text'

export interface DisplayTarget extends DisplayInfo {
  run: string
  /** Full WebSocket URL of the display (RFB). */
  socketUrl: string
}

export interface Session {
  client: PyplayClient
  view: SessionView
  /**
   * The display of the latest display-mode run (its URL with the latest ticket); kept after the
   * run ends so its last frame stays.
   */
  display: ShallowRef<DisplayTarget | null>
  termSize: TermSize
  mode: { value: Mode }
  /** The display pane's picture size in CSS px, sent with each run (`run.screen`); set by DisplayPane. */
  screenSize: () => ScreenSize | null
}

export const SessionKey: InjectionKey<Session> = Symbol('pyplay-session')

export function createSession(backendUrl: string): Session {
  // The resume token waits out a reload in this tab's sessionStorage: a reload mid-run resumes it.
  const client = new PyplayClient({ url: backendUrl, socketFactory: browserSocketFactory(), resumeStore: sessionResumeStore() })
  const view = reactive<SessionView>({ connection: client.status, started: null, outcome: null, sandbox: null })
  const display = shallowRef<DisplayTarget | null>(null)
  client.on('status', (status) => {
    view.connection = status
    // A new socket or a live run makes an earlier "queued"/"starting" word stale.
    if (status !== 'ready' && status !== 'starting') view.sandbox = null
  })
  // Queued/starting words are shown until the run starts or the sandbox is ready.
  client.on('sandbox', (status) => { view.sandbox = status.state === 'ready' ? null : status })
  // User Timing marks where a Run's time goes, read by the IDE bench (web/bench/ide.bench.ts).
  let firstOutputMarked = true
  client.on('output', () => { if (!firstOutputMarked) { firstOutputMarked = true; performance.mark('pyplay:first-output') } })
  client.on('started', (started) => {
    performance.mark('pyplay:started')
    firstOutputMarked = false
    view.started = started
    view.sandbox = null
    view.outcome = null
    display.value = started.display
      ? { ...started.display, run: started.run, socketUrl: client.displayUrl(started.display.url) }
      : null
  })
  // A resumed run's display comes with a fresh ticket (the first may have expired by now); the
  // display pane reconnects with it by itself (lib/display-link.ts), this keeps the target current.
  client.on('resumed', (resumed) => {
    const restored = client.restored
    // A page reloaded mid-run: the run it resumes is one this page never saw start.
    if (restored?.run === resumed.run && view.started?.run !== resumed.run) {
      view.started = { ...restored, display: resumed.display ?? restored.display }
      view.outcome = null
    }
    if (resumed.display && (display.value?.run === resumed.run || restored?.run === resumed.run)) {
      display.value = { ...resumed.display, run: resumed.run, socketUrl: client.displayUrl(resumed.display.url) }
    }
  })
  client.on('exit', (exit) => {
    if (view.connection !== 'starting') view.sandbox = null
    if (exit.run === client.runId && view.connection !== 'starting') view.outcome = { kind: 'exit', exit }
  })
  client.on('error', (error) => {
    view.sandbox = null
    view.outcome = { kind: 'error', error }
  })
  return {
    client, view, display, termSize: reactive({ cols: 80, rows: 24 }), mode: reactive({ value: 'auto' as Mode }), screenSize: () => null,
  }
}

/**
 * The session socket lives in a Web Worker, which joins output frames, so a print flood does not
 * become a thousand main-thread tasks a second (measured: it made the page miss clicks for seconds).
 */
function browserSocketFactory(): SocketFactory | undefined {
  if (typeof Worker === 'undefined') return undefined
  return workerSocketFactory(() => new Worker(new URL('../../lib/socket-worker.ts', import.meta.url), { type: 'module' }))
}

export function useSession(): Session {
  const session = inject(SessionKey)
  if (!session) throw new Error('useSession() outside the IDE: provide(SessionKey, createSession(...)) first')
  return session
}
