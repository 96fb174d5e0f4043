// The servers an e2e test drives: the real backend (`.venv/bin/python -m app`, waits for /readyz),
// the built IDE (`node web/.output/server/index.mjs`) on free loopback ports, and a relay between
// them that tests can cut (relay.ts). global-setup.ts starts the stack most specs share; a spec
// that needs the backend configured differently starts its own (display-resume.spec.ts).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { OUTPUT_DIR, REPO_ROOT, WEB_DIR } from './paths'
import { freePort, start, stop, waitForOk, type Started } from './processes'
import { startRelay, type Relay } from './relay'

const BACKEND_READY_MS = 180_000
const IDE_READY_MS = 30_000

export interface Stack {
  /** The IDE's origin, e.g. http://127.0.0.1:PORT. */
  ideUrl: string
  /** The backend itself (ws://127.0.0.1:PORT), not through the relay. */
  backendUrl: string
  /** Between the IDE page and the backend: cut it to drop every connection. */
  relay: Relay
  /** Stops the servers by pid (process group) and removes their state. */
  stop(): Promise<void>
}

export interface StackOptions {
  /** Names the logs: test-output/e2e-<name>backend.log and e2e-<name>ide.log. */
  name?: string
  /** Extra environment for the backend (PYPLAY_* settings). */
  backendEnv?: Record<string, string>
  /** Use this running backend instead of starting one (its allowed origins must include the IDE's). */
  backendUrl?: string
  /** The IDE's port (free one if unset). */
  idePort?: number
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const prefix = options.name ? `${options.name}-` : ''
  fs.mkdirSync(OUTPUT_DIR, { recursive: true })
  const started: Started[] = []
  let relay: Relay | null = null
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyplay-e2e-'))
  const stopAll = async () => {
    await relay?.close()
    for (const proc of started.reverse()) await stop(proc)
    fs.rmSync(stateDir, { recursive: true, force: true })
  }
  try {
    const idePort = options.idePort || await freePort()
    const ideOrigin = `http://127.0.0.1:${idePort}`
    const backendUrl = options.backendUrl || await startBackend(ideOrigin, stateDir, started, prefix, options.backendEnv ?? {})
    relay = await startRelay(Number(new URL(backendUrl).port))
    const relayedUrl = `ws://127.0.0.1:${relay.port}`
    const server = path.join(WEB_DIR, '.output', 'server', 'index.mjs')
    if (!fs.existsSync(server)) throw new Error(`${server} is missing: build the IDE first (make web-build)`)
    const ide = start('IDE', process.execPath, [server], {
      cwd: WEB_DIR,
      env: { ...process.env, PORT: String(idePort), HOST: '127.0.0.1', NUXT_PUBLIC_BACKEND_URL: relayedUrl },
      log: path.join(OUTPUT_DIR, `e2e-${prefix}ide.log`),
    })
    started.push(ide)
    await waitForOk(`${ideOrigin}/`, ide, IDE_READY_MS)
    console.log(`[e2e] IDE ${ideOrigin} → relay ${relayedUrl} → backend ${backendUrl}`)
    return { ideUrl: ideOrigin, backendUrl, relay, stop: stopAll }
  } catch (error) {
    await stopAll()
    throw error
  }
}

async function startBackend(ideOrigin: string, stateDir: string, started: Started[], prefix: string, env: Record<string, string>): Promise<string> {
  const python = path.join(REPO_ROOT, '.venv', 'bin', 'python')
  if (!fs.existsSync(python)) throw new Error(`${python} is missing: run \`make venv\` in the repo root first`)
  const port = await freePort()
  const backend = start('backend', python, ['-m', 'app'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PYPLAY_HOST: '127.0.0.1',
      PYPLAY_PORT: String(port),
      // No internal (REST, metrics, peers) listener: its fixed default port would clash with
      // another backend on this machine, and the IDE does not use it.
      PYPLAY_ADMIN_PORT: '0',
      PYPLAY_ALLOWED_ORIGINS: ideOrigin,
      PYPLAY_STATE_DIR: stateDir,
      ...env,
    },
    log: path.join(OUTPUT_DIR, `e2e-${prefix}backend.log`),
  })
  started.push(backend)
  await waitForOk(`http://127.0.0.1:${port}/readyz`, backend, BACKEND_READY_MS)
  return `ws://127.0.0.1:${port}`
}
