// The status line's words: what a student (and their teacher) reads about the connection and the run.
import type { ClientError, ClientStatus } from './pyplay-client'
import type { ExitMessage, StartedMessage, StatusMessage } from './protocol'

export type Tone = 'idle' | 'busy' | 'ok' | 'warn' | 'error'
export interface StatusText { text: string; tone: Tone }

/** The last thing that ended the latest run: its exit, or an error. */
export type Outcome = { kind: 'exit'; exit: ExitMessage } | { kind: 'error'; error: ClientError } | null

export interface SessionView {
  connection: ClientStatus
  started: StartedMessage | null
  outcome: Outcome
  /** The latest `queued`/`starting` word from the server, until the run starts or the sandbox is ready. */
  sandbox: StatusMessage | null
}

export function describeStatus(view: SessionView): StatusText {
  const waiting = waitingText(view)
  if (waiting) return waiting
  switch (view.connection) {
    case 'idle':
    case 'connecting': return { text: 'Connecting…', tone: 'busy' }
    case 'reconnecting': return { text: 'Connection lost, reconnecting…', tone: 'warn' }
    case 'starting': return { text: 'Starting your program…', tone: 'busy' }
    case 'running': return { text: runningText(view.started), tone: 'ok' }
    case 'stopping': return { text: 'Stopping…', tone: 'busy' }
    case 'closed':
      return view.outcome?.kind === 'error' ? describeError(view.outcome.error) : { text: 'Offline: cannot reach the pyplay server', tone: 'error' }
    case 'ready':
      if (view.outcome?.kind === 'exit') return describeExit(view.outcome.exit)
      if (view.outcome?.kind === 'error') return describeError(view.outcome.error)
      return { text: 'Ready: press Run', tone: 'idle' }
  }
}

/**
 * While the server finds a sandbox (before a run starts, or after a prepare) its own words are
 * shown as they are. Waiting is normal, so the tone is `busy`, never a warning.
 */
function waitingText(view: SessionView): StatusText | null {
  const status = view.sandbox
  if (!status || status.state === 'ready') return null
  if (view.connection !== 'starting' && view.connection !== 'ready') return null
  if (status.message) return { text: status.message, tone: 'busy' }
  if (status.state === 'queued') {
    const place = status.position ? `; you are number ${status.position} in line` : ''
    return { text: `Every sandbox is in use right now${place}…`, tone: 'busy' }
  }
  return { text: 'Starting a sandbox for your program…', tone: 'busy' }
}

function runningText(started: StartedMessage | null): string {
  if (!started) return 'Running'
  const mode = started.mode === 'python' ? '' : ` ${started.mode}`
  const text = `Running${mode}${started.python ? ` (Python ${started.python})` : ''}`
  // turtle.done() and mainloop() keep a finished drawing's window open, so the program never
  // ends by itself: say how to finish it.
  return started.mode === 'turtle' ? `${text}: when your drawing is done, press Stop` : text
}

export function describeExit(exit: ExitMessage): StatusText {
  switch (exit.reason) {
    case 'exited':
      if (exit.code === 0) return { text: 'Finished (exit code 0)', tone: 'idle' }
      if (exit.code === null) return { text: 'Finished', tone: 'idle' }
      return { text: `Finished with an error (exit code ${exit.code})`, tone: 'warn' }
    case 'stopped': return { text: 'Stopped', tone: 'idle' }
    case 'timeout': return { text: 'Stopped: it ran longer than the time limit', tone: 'warn' }
    case 'memory': return { text: 'Stopped: it used too much memory', tone: 'warn' }
    case 'output': return { text: 'Stopped: it printed too much output', tone: 'warn' }
    case 'failed': return { text: 'Could not run the program', tone: 'error' }
    default: return { text: `Ended (${String(exit.reason)})`, tone: 'warn' }
  }
}

export function describeError(error: ClientError): StatusText {
  switch (error.code) {
    case 'busy': return { text: 'The server is busy: try again in a moment', tone: 'warn' }
    case 'unavailable': return { text: 'Python is not available right now: try again soon', tone: 'error' }
    case 'too_large': return { text: 'Your files are too big to run', tone: 'error' }
    case 'bad_request': return { text: error.message || 'The server did not understand the request', tone: 'error' }
    case 'gone': return { text: 'The program ended while you were offline', tone: 'warn' }
    case 'internal': return { text: 'Something went wrong on the server', tone: 'error' }
    case 'connection':
    case 'protocol': return { text: error.message, tone: 'error' }
  }
}
