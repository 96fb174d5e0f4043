// The servers an e2e test drives: the real backend (`.venv/bin/python -m app`, waits for /readyz),
// the built IDE (`node web/.output/server/index.mjs`) on free loopback ports, and a relay between
// them that tests can cut (relay.ts). global-setup.ts starts the stack most specs share; a spec
// that needs the backend configured differently starts its own (display-resume.spec.ts), and
// startReplicatedStack puts several peered backends behind HAProxy (replicas.spec.ts).
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { OUTPUT_DIR, REPO_ROOT, WEB_DIR } from './paths'
import { freePort, killLeftovers, killProcess, start, stop, waitForOk, type Started } from './processes'
import { startRelay, type Relay } from './relay'

const execFileAsync = promisify(execFile)

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
    const backendUrl = options.backendUrl || await startBackend({
      ideOrigin, stateDir, started, log: path.join(OUTPUT_DIR, `e2e-${prefix}backend.log`), env: options.backendEnv ?? {},
    })
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

interface BackendOptions {
  ideOrigin: string
  stateDir: string
  /** The process is added here as soon as it is spawned (so a failed start is still stopped). */
  started: Started[]
  log: string
  env: Record<string, string>
  /** The public port (a free one if unset). */
  port?: number
}

async function startBackend(options: BackendOptions): Promise<string> {
  const port = options.port || await freePort()
  const backend = spawnBackend({ ...options, port })
  await waitForOk(`http://127.0.0.1:${port}/readyz`, backend, BACKEND_READY_MS)
  return `ws://127.0.0.1:${port}`
}

function spawnBackend(options: BackendOptions & { port: number }): Started {
  const python = path.join(REPO_ROOT, '.venv', 'bin', 'python')
  if (!fs.existsSync(python)) throw new Error(`${python} is missing: run \`make venv\` in the repo root first`)
  const backend = start('backend', python, ['-m', 'app'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PYPLAY_HOST: '127.0.0.1',
      PYPLAY_PORT: String(options.port),
      // No internal (REST, metrics, peers) listener: its fixed default port would clash with
      // another backend on this machine, and the IDE does not use it. Replicas set a free one.
      PYPLAY_ADMIN_PORT: '0',
      PYPLAY_ALLOWED_ORIGINS: options.ideOrigin,
      PYPLAY_STATE_DIR: options.stateDir,
      ...options.env,
    },
    log: options.log,
  })
  options.started.push(backend)
  return backend
}

// ---------------------------------------------------------------------------------------------
// Replicas behind a load balancer, as in production (README "Replicas"): N backends named r0, r1,
// … that know each other's internal listeners (PYPLAY_PEERS), behind Debian's HAProxy with
// round-robin and no stickiness (the Python tests' testkit/balancer.py, same configuration).
// The IDE reaches HAProxy through the relay: IDE page → relay → HAProxy → r0 | r1.

const BALANCER_READY_MS = 10_000

/** HAProxy's configuration: testkit/balancer.py's (round-robin, `option redispatch`, health check every 300 ms). */
function haproxyConfig(port: number, backendPorts: number[]): string {
  const servers = backendPorts.map((backendPort, i) => `    server r${i} 127.0.0.1:${backendPort} check inter 300ms fall 1 rise 2`)
  return [
    'global',
    '    maxconn 512',
    'defaults',
    '    mode http',
    '    timeout connect 1s',
    '    timeout client 60s',
    '    timeout server 60s',
    '    timeout tunnel 1h',
    '    retries 2',
    '    option redispatch',
    'frontend students',
    `    bind 127.0.0.1:${port}`,
    '    default_backend replicas',
    'backend replicas',
    '    balance roundrobin',
    '    option httpchk GET /healthz',
    ...servers,
    '',
  ].join('\n')
}

export interface Replica {
  /** PYPLAY_REPLICA (r0, r1, …): a run id names the replica that runs it, `r-<name>-…`. */
  name: string
  /** Its public listener, which HAProxy balances over: http://127.0.0.1:PORT. */
  http: string
  /** Its internal listener (REST, /metrics, peers' forwarded sockets): http://127.0.0.1:PORT. */
  admin: string
  /** The pid of its `python -m app` (the leader of its own process group). */
  pid: number
  /** Its server log. */
  log: string
  /** SIGKILL of its process alone, as a machine that dies; resolves once it has exited. */
  kill(): Promise<void>
  /** Its /metrics counters and gauges (the lines without labels), by name. */
  metrics(): Promise<Record<string, number>>
}

export interface ReplicatedStack extends Stack {
  /** backendUrl is HAProxy's frontend (ws://127.0.0.1:PORT), the relay's target. */
  replicas: Replica[]
}

export interface ReplicatedStackOptions {
  /** Names the logs: test-output/e2e-<name>-r0.log, -r1.log, -haproxy.log, -ide.log. */
  name: string
  /** How many replicas (2 if unset). */
  count?: number
  /** Extra environment for every replica (PYPLAY_* settings). */
  backendEnv?: Record<string, string>
}

/** Distinct free loopback ports (freePort releases each at once, so ask until they differ). */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort())
  return [...ports]
}

/**
 * Starts `count` peered replicas (each with free public and internal ports and its own state
 * dir), HAProxy in front of them, and the IDE behind a relay to HAProxy. stop() stops it all by
 * pid, deletes the sandboxes a killed replica left in its runsc root, and removes the state dirs.
 */
export async function startReplicatedStack(options: ReplicatedStackOptions): Promise<ReplicatedStack> {
  const haproxy = findHaproxy()
  const count = options.count ?? 2
  fs.mkdirSync(OUTPUT_DIR, { recursive: true })
  const [idePort, balancerPort, ...ports] = await freePorts(2 + 2 * count)
  const ideOrigin = `http://127.0.0.1:${idePort}`
  const backends = Array.from({ length: count }, (_, i) => ({
    name: `r${i}`, port: ports[2 * i]!, adminPort: ports[2 * i + 1]!, started: [] as Started[],
    stateDir: fs.mkdtempSync(path.join(os.tmpdir(), `pyplay-e2e-${options.name}-r${i}-`)),
    log: path.join(OUTPUT_DIR, `e2e-${options.name}-r${i}.log`),
  }))
  const peers = backends.map((b) => `${b.name}=127.0.0.1:${b.adminPort}`).join(',')
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), `pyplay-e2e-${options.name}-haproxy-`))
  const balancer: Started[] = []
  let ideStack: Stack | null = null
  const stopAll = async () => {
    const problems: string[] = []
    await ideStack?.stop()
    for (const proc of balancer) await stop(proc)
    await Promise.all(backends.map(async (b) => {
      for (const proc of b.started) {
        await stop(proc)
        killLeftovers(proc) // a replica killed with -9 may leave children in its group
      }
      try {
        const left = await purgeSandboxes(b.stateDir)
        if (left.length) console.log(`[e2e] ${b.name} left sandboxes ${left.join(', ')}: deleted with runsc`)
      } catch (error) {
        problems.push(`${b.name}: ${String(error)}`)
      } finally {
        fs.rmSync(b.stateDir, { recursive: true, force: true })
      }
    }))
    fs.rmSync(configDir, { recursive: true, force: true })
    if (problems.length) throw new Error(`cleaning up the replicas: ${problems.join('; ')}`)
  }
  try {
    const processes = backends.map((b) => spawnBackend({
      ideOrigin, stateDir: b.stateDir, started: b.started, log: b.log, port: b.port,
      env: {
        PYPLAY_REPLICA: b.name,
        PYPLAY_PEERS: peers,
        PYPLAY_ADMIN_HOST: '127.0.0.1',
        PYPLAY_ADMIN_PORT: String(b.adminPort),
        ...options.backendEnv,
      },
    }))
    await Promise.all(backends.map((b, i) => waitForOk(`http://127.0.0.1:${b.port}/readyz`, processes[i]!, BACKEND_READY_MS)))
    const configPath = path.join(configDir, 'haproxy.cfg')
    fs.writeFileSync(configPath, haproxyConfig(balancerPort!, backends.map((b) => b.port)))
    const proxy = start('haproxy', haproxy, ['-db', '-f', configPath], {
      cwd: configDir, env: process.env, log: path.join(OUTPUT_DIR, `e2e-${options.name}-haproxy.log`),
    })
    balancer.push(proxy)
    // Through HAProxy to a replica: the balancer listens and routes.
    await waitForOk(`http://127.0.0.1:${balancerPort}/healthz`, proxy, BALANCER_READY_MS)
    const balancerUrl = `ws://127.0.0.1:${balancerPort}`
    ideStack = await startStack({ name: options.name, backendUrl: balancerUrl, idePort: idePort! })
    const replicas: Replica[] = backends.map((b, i) => ({
      name: b.name,
      http: `http://127.0.0.1:${b.port}`,
      admin: `http://127.0.0.1:${b.adminPort}`,
      pid: processes[i]!.child.pid!,
      log: b.log,
      kill: () => killProcess(processes[i]!),
      metrics: () => readMetrics(`http://127.0.0.1:${b.adminPort}/metrics`),
    }))
    console.log(`[e2e] HAProxy ${balancerUrl} → ${replicas.map((r) => `${r.name} ${r.http} (internal ${r.admin}, pid ${r.pid})`).join(', ')}`)
    return { ...ideStack, replicas, stop: stopAll }
  } catch (error) {
    await stopAll().catch((problem) => console.log(`[e2e] ${String(problem)}`))
    throw error
  }
}

function findHaproxy(): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const candidate = path.join(dir, 'haproxy')
    if (dir && fs.existsSync(candidate)) return candidate
  }
  throw new Error('haproxy is missing: `make test` installs it (scripts/apt-packages.txt), or apt-get install -y haproxy')
}

async function readMetrics(url: string): Promise<Record<string, number>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) })
  if (response.status !== 200) throw new Error(`${url}: HTTP ${response.status}`)
  const values: Record<string, number> = {}
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*) (\S+)$/.exec(line.trim())
    if (match) values[match[1]!] = Number(match[2])
  }
  return values
}

/**
 * Deletes the sandboxes `runsc list` still shows under a replica's state dir and returns their
 * ids (none if all is well). A replica killed with -9 leaves its warm ones running (its next start
 * would purge them). `runsc delete -force` may exit non-zero ("context deadline exceeded" while
 * stopping) yet remove the sandbox, so the list after the deletes is what counts.
 */
async function purgeSandboxes(stateDir: string): Promise<string[]> {
  const root = path.join(stateDir, 'runsc')
  if (!fs.existsSync(root)) return []
  const left = await runscIds(root)
  await Promise.all(left.map((id) => execFileAsync('runsc', ['--root', root, 'delete', '-force', id], { timeout: 30_000 }).catch(() => undefined)))
  const still = left.length ? await runscIds(root) : []
  if (still.length) throw new Error(`runsc could not delete ${still.join(', ')} under ${root}`)
  return left
}

async function runscIds(root: string): Promise<string[]> {
  const { stdout } = await execFileAsync('runsc', ['--root', root, 'list', '-format=json'], { timeout: 30_000 })
  const listed: unknown = JSON.parse(stdout || '[]')
  return Array.isArray(listed) ? listed.flatMap((entry) => (typeof entry?.id === 'string' ? [entry.id as string] : [])) : []
}
