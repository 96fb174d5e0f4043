// Starts the real backend (`.venv/bin/python -m app`, waits for /readyz) and the
// built IDE (`node web/.output/server/index.mjs`) on free loopback ports, with a relay between
// them that tests can cut (relay.ts); the returned function stops everything, servers by pid.
// PYPLAY_E2E_BACKEND_URL=ws://127.0.0.1:PORT uses an already running backend instead (its
// PYPLAY_ALLOWED_ORIGINS must then include the IDE origin: fix its port with PYPLAY_E2E_IDE_PORT).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { OUTPUT_DIR, REPO_ROOT, WEB_DIR } from './paths'
import { freePort, start, stop, waitForOk, type Started } from './processes'
import { startRelay, type Relay } from './relay'

const BACKEND_READY_MS = 180_000
const IDE_READY_MS = 30_000

export default async function globalSetup(): Promise<() => Promise<void>> {
  fs.mkdirSync(OUTPUT_DIR, { recursive: true })
  const started: Started[] = []
  let relay: Relay | null = null
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyplay-e2e-'))
  const teardown = async () => {
    await relay?.close()
    for (const proc of started.reverse()) await stop(proc)
    fs.rmSync(stateDir, { recursive: true, force: true })
  }
  try {
    const idePort = Number(process.env.PYPLAY_E2E_IDE_PORT) || await freePort()
    const ideOrigin = `http://127.0.0.1:${idePort}`
    const backendUrl = process.env.PYPLAY_E2E_BACKEND_URL || await startBackend(ideOrigin, stateDir, started)
    relay = await startRelay(Number(new URL(backendUrl).port))
    process.env.PYPLAY_E2E_RELAY_CONTROL = String(relay.controlPort)
    const relayedUrl = `ws://127.0.0.1:${relay.port}`
    const server = path.join(WEB_DIR, '.output', 'server', 'index.mjs')
    if (!fs.existsSync(server)) throw new Error(`${server} is missing: build the IDE first (make web-build)`)
    const ide = start('IDE', process.execPath, [server], {
      cwd: WEB_DIR,
      env: { ...process.env, PORT: String(idePort), HOST: '127.0.0.1', NUXT_PUBLIC_BACKEND_URL: relayedUrl },
      log: path.join(OUTPUT_DIR, 'e2e-ide.log'),
    })
    started.push(ide)
    await waitForOk(`${ideOrigin}/`, ide, IDE_READY_MS)
    process.env.PYPLAY_E2E_IDE_URL = ideOrigin
    console.log(`[e2e] IDE ${ideOrigin} → relay ${relayedUrl} → backend ${backendUrl}`)
    return teardown
  } catch (error) {
    await teardown()
    throw error
  }
}

async function startBackend(ideOrigin: string, stateDir: string, started: Started[]): Promise<string> {
  const python = path.join(REPO_ROOT, '.venv', 'bin', 'python')
  if (!fs.existsSync(python)) throw new Error(`${python} is missing: run \`make venv\` in the repo root first`)
  const port = await freePort()
  const backend = start('backend', python, ['-m', 'app'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PYPLAY_HOST: '127.0.0.1',
      PYPLAY_PORT: String(port),
      PYPLAY_ADMIN_PORT: '0', // no internal listener: the IDE needs only the public one
      PYPLAY_ALLOWED_ORIGINS: ideOrigin,
      PYPLAY_STATE_DIR: stateDir,
    },
    log: path.join(OUTPUT_DIR, 'e2e-backend.log'),
  })
  started.push(backend)
  await waitForOk(`http://127.0.0.1:${port}/readyz`, backend, BACKEND_READY_MS)
  return `ws://127.0.0.1:${port}`
}
