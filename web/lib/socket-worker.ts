// Runs in a Web Worker: owns the session WebSocket, so a flood of tiny output frames is received
// off the page's main thread and reaches it joined (see coalescer.ts). Speaks to worker-socket.ts.
import { FrameCoalescer } from './coalescer'
import type { FromWorker, ToWorker } from './worker-socket'

const scope = self as unknown as {
  postMessage(message: FromWorker, transfer?: Transferable[]): void
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null
  close(): void
}
let socket: WebSocket | null = null

const post = (message: FromWorker, transfer: Transferable[] = []) => scope.postMessage(message, transfer)
const output = new FrameCoalescer((joined) => {
  const buffer = joined.byteOffset === 0 && joined.byteLength === joined.buffer.byteLength
    ? joined.buffer as ArrayBuffer
    : joined.slice().buffer as ArrayBuffer
  post({ event: 'message', data: buffer }, [buffer])
})

scope.onmessage = ({ data: command }) => {
  switch (command.op) {
    case 'open': open(command.url); break
    case 'send': socket?.send(command.data); break
    case 'close': socket?.close(command.code, command.reason); break
  }
}

function open(url: string): void {
  try {
    socket = new WebSocket(url)
  } catch (error) {
    post({ event: 'close', code: 1006, reason: String(error) })
    return
  }
  socket.binaryType = 'arraybuffer'
  socket.onopen = () => post({ event: 'open' })
  socket.onmessage = ({ data }) => {
    if (typeof data === 'string') {
      output.flush()
      post({ event: 'message', data })
    } else {
      output.push(new Uint8Array(data as ArrayBuffer))
    }
  }
  socket.onerror = () => post({ event: 'error' })
  socket.onclose = ({ code, reason }) => {
    output.flush()
    post({ event: 'close', code, reason })
    scope.close()
  }
}
