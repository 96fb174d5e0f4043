// Starts the stack most specs share (servers.ts: the real backend, the built IDE, a relay the
// tests can cut between them) and hands its addresses to the tests through the environment; the
// returned function stops everything, servers by pid.
// PYPLAY_E2E_BACKEND_URL=ws://127.0.0.1:PORT uses an already running backend instead (its
// PYPLAY_ALLOWED_ORIGINS must then include the IDE origin: fix its port with PYPLAY_E2E_IDE_PORT).
import { startStack } from './servers'

export default async function globalSetup(): Promise<() => Promise<void>> {
  const stack = await startStack({
    backendUrl: process.env.PYPLAY_E2E_BACKEND_URL || undefined,
    idePort: Number(process.env.PYPLAY_E2E_IDE_PORT) || undefined,
  })
  process.env.PYPLAY_E2E_RELAY_CONTROL = String(stack.relay.controlPort)
  process.env.PYPLAY_E2E_IDE_URL = stack.ideUrl
  return stack.stop
}
