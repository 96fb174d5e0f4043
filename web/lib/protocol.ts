// Protocol v1 message shapes (see docs/client.md and DESIGN.md "Protocol v1").
// Kept free of I/O so the client and its tests share one definition.

export type Mode = 'auto' | 'python' | 'pygame' | 'turtle'
export type ExitReason = 'exited' | 'stopped' | 'timeout' | 'memory' | 'output' | 'failed'
export type ErrorCode = 'bad_request' | 'too_large' | 'busy' | 'unavailable' | 'gone' | 'internal'
// The enums as values, checked against docs/protocol.schema.json (web/test/protocol-schema.test.ts).
export const MODES = ['auto', 'python', 'pygame', 'turtle'] as const satisfies readonly Mode[]
export const EXIT_REASONS = ['exited', 'stopped', 'timeout', 'memory', 'output', 'failed'] as const satisfies readonly ExitReason[]
export const ERROR_CODES = ['bad_request', 'too_large', 'busy', 'unavailable', 'gone', 'internal'] as const satisfies readonly ErrorCode[]
/** A mode a sandbox actually runs in: what `auto` resolves to. */
export type RunMode = Exclude<Mode, 'auto'>
/** Where the session's sandbox is: waiting in line, booting, or warm for `mode`. */
export type SandboxState = 'queued' | 'starting' | 'ready'
export const SANDBOX_STATES = ['queued', 'starting', 'ready'] as const satisfies readonly SandboxState[]

export type ProgramFile =
  | { path: string; text: string }
  | { path: string; base64: string }

export interface TermSize { cols: number; rows: number }
/** A size in CSS pixels. */
export interface ScreenSize { width: number; height: number }

export interface RunRequest {
  mode: Mode
  entry: string
  files: readonly ProgramFile[]
  term: TermSize
  /**
   * Additive: the display pane's size in CSS px, so a program's default window (turtle's, the
   * desktop's) fits the pane the student has. Servers that predate it ignore it.
   */
  screen?: ScreenSize
}

export type ClientMessage =
  | ({ type: 'run' } & RunRequest)
  | { type: 'stdin'; data: string }
  | ({ type: 'resize' } & TermSize)
  | { type: 'stop' }
  | { type: 'resume'; run: string; token: string; offset: number }
  /** Additive: get the session's sandbox ready for `mode` before Run ("auto" means python). */
  | { type: 'prepare'; mode: Mode }

/** `audio` (additive): the run's sound socket, in pygame runs (docs/sound.md). */
export interface DisplayInfo { url: string; width: number; height: number; audio?: string }

export interface StartedMessage {
  type: 'started'
  run: string
  mode: RunMode
  python: string
  display: DisplayInfo | null
  resume?: string
}
export interface ExitMessage {
  type: 'exit'; run: string; code: number | null; reason: ExitReason; message: string
  /** Additive: the limit that ended the run (`wall`, `idle`, `memory`, …), when one did. */
  limit?: string
}
export interface ErrorMessage { type: 'error'; code: ErrorCode; message: string }
/**
 * The answer to `resume`. `display` (additive) is the run's display with a fresh ticket, like
 * `started.display`: the old ticket may have expired, so the display reconnects with this URL.
 * Null in python mode, and from servers that predate the field (then the old URL is all there is).
 */
export interface ResumedMessage { type: 'resumed'; run: string; display: DisplayInfo | null }
/** The run's display changed size (the program opened or resized its window). */
export interface DisplayMessage { type: 'display'; run: string; width: number; height: number }

/**
 * Additive: why a run has not started yet (`queued` with its place in line, or `starting` while a
 * fresh sandbox boots), or the answer to `prepare` (`ready`). `message` is for the student as is.
 */
export interface StatusMessage {
  type: 'status'
  state: SandboxState
  mode: RunMode
  message: string
  /** Place in line; only when `state` is `queued`. */
  position?: number
}

export type ServerMessage = StartedMessage | ExitMessage | ErrorMessage | ResumedMessage | DisplayMessage | StatusMessage

export class ProtocolError extends Error {
  override name = 'ProtocolError'
}

/**
 * Parse one text frame from the server. Malformed frames raise ProtocolError; message types this
 * client does not know yet give null (v1 grows additively, so they are ignored, not errors).
 */
export function parseServerMessage(text: string): ServerMessage | null {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new ProtocolError('server sent a text frame that is not JSON')
  }
  if (!isRecord(value) || typeof value.type !== 'string') {
    throw new ProtocolError('server sent a message without a type')
  }
  switch (value.type) {
    case 'started':
      requireString(value, 'run')
      return {
        type: 'started',
        run: value.run as string,
        mode: (value.mode ?? 'python') as StartedMessage['mode'],
        python: String(value.python ?? ''),
        display: parseDisplay(value.display),
        resume: typeof value.resume === 'string' ? value.resume : undefined,
      }
    case 'exit': {
      const exit: ExitMessage = {
        type: 'exit',
        run: String(value.run ?? ''),
        code: typeof value.code === 'number' ? value.code : null,
        reason: (value.reason ?? 'exited') as ExitReason,
        message: String(value.message ?? ''),
      }
      if (typeof value.limit === 'string') exit.limit = value.limit
      return exit
    }
    case 'error':
      return { type: 'error', code: (value.code ?? 'internal') as ErrorCode, message: String(value.message ?? '') }
    case 'resumed':
      requireString(value, 'run')
      return { type: 'resumed', run: value.run as string, display: parseDisplay(value.display) }
    case 'display':
      requireString(value, 'run')
      return { type: 'display', run: value.run as string, width: Number(value.width) || 0, height: Number(value.height) || 0 }
    case 'status':
      return parseStatus(value)
    default:
      return null
  }
}

/** A status whose state this client does not know yet gives null, like an unknown message type. */
function parseStatus(value: Record<string, unknown>): StatusMessage | null {
  requireString(value, 'state')
  const state = value.state as string
  if (!(SANDBOX_STATES as readonly string[]).includes(state)) return null
  const status: StatusMessage = {
    type: 'status',
    state: state as SandboxState,
    mode: (typeof value.mode === 'string' ? value.mode : 'python') as RunMode,
    message: String(value.message ?? ''),
  }
  const position = value.position
  if (state === 'queued' && typeof position === 'number' && Number.isInteger(position) && position > 0) status.position = position
  return status
}

/** `started.display` and `resumed.display`: anything but an object with a string `url` is no display. */
function parseDisplay(value: unknown): DisplayInfo | null {
  if (!isRecord(value) || typeof value.url !== 'string') return null
  const info: DisplayInfo = { url: value.url, width: Number(value.width) || 0, height: Number(value.height) || 0 }
  if (typeof value.audio === 'string') info.audio = value.audio
  return info
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function requireString(value: Record<string, unknown>, key: string): void {
  if (typeof value[key] !== 'string') throw new ProtocolError(`server message ${String(value.type)} lacks "${key}"`)
}

/**
 * The display WebSocket URL: the server gives a path relative to its HTTP origin;
 * the socket lives on the same host, with the ws/wss scheme of the session socket.
 */
export function displaySocketUrl(backendUrl: string, displayPath: string): string {
  const base = new URL(backendUrl)
  if (base.protocol === 'http:') base.protocol = 'ws:'
  if (base.protocol === 'https:') base.protocol = 'wss:'
  const url = new URL(displayPath, base)
  if (url.protocol === 'http:') url.protocol = 'ws:'
  if (url.protocol === 'https:') url.protocol = 'wss:'
  return url.toString()
}

/** The session socket URL from a configured backend URL (http(s) is accepted and converted). */
export function sessionSocketUrl(backendUrl: string): string {
  const url = new URL(backendUrl)
  if (url.protocol === 'http:') url.protocol = 'ws:'
  if (url.protocol === 'https:') url.protocol = 'wss:'
  return url.toString()
}
