// web/lib/protocol.ts against docs/protocol.schema.json, the one source of the message shapes.
// tests/proxy/test_protocol_schema.py checks proxy/protocol.py against the same file, so a field
// added to one side only fails a test on the other.
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import {
  ERROR_CODES, EXIT_REASONS, MODES, SANDBOX_STATES, parseServerMessage, type ClientMessage, type DisplayInfo, type ServerMessage,
} from '../lib/protocol'
import { PyplayClient, type SocketLike } from '../lib/pyplay-client'
import { startScriptedServer, type ScriptedServer } from './fake-server'

interface MessageSchema { properties: Record<string, unknown>; required: string[]; examples: Record<string, unknown>[] }
const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'protocol.schema.json'), 'utf8')) as {
  'x-client-messages': string[]; 'x-server-messages': string[]; $defs: Record<string, MessageSchema & { enum: string[] }>
}
const defs = schema.$defs
const fieldsOf = (name: string) => Object.keys(defs[name]!.properties).sort()

// Every field of every message type, as the TypeScript types have them. `Record<keyof …, true>`
// makes the compiler (make web-typecheck) refuse a list that misses a field or names one the type
// lacks; the tests below compare the lists with the schema.
type Fields<U, K extends string> = Record<keyof Extract<U, { type: K }>, true>
const CLIENT_FIELDS: { [K in ClientMessage['type']]: Fields<ClientMessage, K> } = {
  run: { type: true, mode: true, entry: true, files: true, term: true, screen: true },
  stdin: { type: true, data: true },
  resize: { type: true, cols: true, rows: true },
  stop: { type: true },
  resume: { type: true, run: true, token: true, offset: true },
  prepare: { type: true, mode: true },
}
const SERVER_FIELDS: { [K in ServerMessage['type']]: Fields<ServerMessage, K> } = {
  started: { type: true, run: true, mode: true, python: true, display: true, resume: true },
  exit: { type: true, run: true, code: true, reason: true, message: true, limit: true },
  error: { type: true, code: true, message: true },
  resumed: { type: true, run: true, display: true },
  display: { type: true, run: true, width: true, height: true },
  status: { type: true, state: true, mode: true, message: true, position: true },
}

const DISPLAY_FIELDS: Record<keyof DisplayInfo, true> = { url: true, width: true, height: true, audio: true }

/** The schema's checks that matter for a message: no field it lacks, every field it requires. */
function expectFits(message: Record<string, unknown>): void {
  const def = defs[String(message.type)]
  expect(def, `message type ${String(message.type)}`).toBeDefined()
  expect(Object.keys(message).filter((key) => !(key in def!.properties)), `${String(message.type)}: fields the schema lacks`).toEqual([])
  expect(def!.required.filter((key) => !(key in message)), `${String(message.type)}: required fields missing`).toEqual([])
}

describe('protocol.ts against docs/protocol.schema.json', () => {
  it('has the same message types and the same fields in each', () => {
    expect(Object.keys(CLIENT_FIELDS).sort()).toEqual([...schema['x-client-messages']].sort())
    expect(Object.keys(SERVER_FIELDS).sort()).toEqual([...schema['x-server-messages']].sort())
    for (const [name, fields] of Object.entries({ ...CLIENT_FIELDS, ...SERVER_FIELDS })) {
      expect(Object.keys(fields).sort(), name).toEqual(fieldsOf(name))
    }
    expect(Object.keys(DISPLAY_FIELDS).sort(), 'started.display / resumed.display').toEqual(fieldsOf('displayInfo'))
  })

  it('has the same enums', () => {
    expect([...MODES]).toEqual(defs.mode!.enum)
    expect([...EXIT_REASONS]).toEqual(defs.exitReason!.enum)
    expect([...ERROR_CODES]).toEqual(defs.errorCode!.enum)
    expect([...SANDBOX_STATES]).toEqual(defs.sandboxState!.enum)
  })

  it('reads every field of every server message (each schema example uses them all)', () => {
    for (const name of schema['x-server-messages']) {
      const example = defs[name]!.examples[0]!
      const parsed = parseServerMessage(JSON.stringify(example)) as unknown as Record<string, unknown>
      expect(parsed, name).toEqual(example)
    }
  })
})

describe('what the client sends fits the schema', () => {
  let server: ScriptedServer
  let client: PyplayClient
  beforeEach(async () => { server = await startScriptedServer() })
  afterEach(async () => { client?.close(); await server.close() })

  it('sends every client message type, each with fields the schema has', async () => {
    client = new PyplayClient({ url: server.url, socketFactory: (u) => new WebSocket(u) as unknown as SocketLike, reconnectInitialDelayMs: 10 })
    const first = server.nextConnection()
    client.prepare('pygame')
    const backend = await first
    await backend.next() // prepare
    const run = defs.run!.examples[0]! as unknown as Extract<ClientMessage, { type: 'run' }>
    const { type: _type, ...request } = run
    client.run(request)
    await backend.next()
    backend.json(defs.started!.examples[0])
    await new Promise<void>((resolve) => { const off = client.on('started', () => { off(); resolve() }) })
    client.stdin('Ada\r')
    client.resize({ cols: 120, rows: 31 })
    client.stop()
    for (let i = 0; i < 3; i++) await backend.next()
    const second = server.nextConnection()
    backend.socket.terminate()
    const again = await second
    await again.next()
    const sent = [...backend.messages, ...again.messages]
    expect(sent.map((m) => m.type).sort()).toEqual([...schema['x-client-messages']].sort())
    for (const message of sent) expectFits(message)
    expect(Object.keys(sent.find((m) => m.type === 'run')!).sort()).toEqual(fieldsOf('run')) // all of run's fields, screen too
  })
})
