// Starting and stopping the servers the e2e tests drive. Each child leads its own process group,
// so stopping it by pid also stops whatever it started, and nothing else on the machine.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'

export interface Started { name: string; child: ChildProcess; log: string }

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

export function start(name: string, command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; log: string }): Started {
  const out = fs.openSync(options.log, 'w')
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', out, out] })
  fs.closeSync(out)
  child.once('error', (error) => fs.appendFileSync(options.log, `\n[e2e] could not start ${name}: ${error.message}\n`))
  return { name, child, log: options.log }
}

/** Polls an HTTP URL until it answers 200, the process dies, or the deadline passes. */
export async function waitForOk(url: string, proc: Started, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}) before ${url} was ready; see ${proc.log}:\n${tail(proc.log)}`)
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
      if (response.status === 200) return
      last = `HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`
    } catch (error) {
      last = String(error)
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`${proc.name} not ready at ${url} within ${timeoutMs / 1000} s (last: ${last}); see ${proc.log}:\n${tail(proc.log)}`)
}

export async function stop(proc: Started, graceMs = 10_000): Promise<void> {
  const pid = proc.child.pid
  if (!pid || proc.child.exitCode !== null || proc.child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => proc.child.once('exit', () => resolve()))
  signalGroup(pid, 'SIGTERM')
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs))
  if ((await Promise.race([exited, timer])) === 'timeout') {
    signalGroup(pid, 'SIGKILL')
    await exited
  }
}

/** SIGKILL of the process alone (not its group), as a machine that dies; resolves once it has exited. */
export async function killProcess(proc: Started): Promise<void> {
  const pid = proc.child.pid
  if (!pid || proc.child.exitCode !== null || proc.child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => proc.child.once('exit', () => resolve()))
  process.kill(pid, 'SIGKILL')
  await exited
}

/** SIGKILL of whatever is left in the process group the process led (after it was killed alone). */
export function killLeftovers(proc: Started): void {
  if (proc.child.pid) signalGroup(proc.child.pid, 'SIGKILL')
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // The group is gone already.
  }
}

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}
