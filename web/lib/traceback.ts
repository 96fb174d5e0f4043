// Python traceback frames in the terminal's text: where the links go and which line to mark.

/** `File "/workspace/main.py", line 12` as CPython prints it (the sandbox runs files in /workspace). */
const FRAME = /File "(?:\/workspace\/)?([^"]+)", line (\d+)/g

export interface Frame { path: string; line: number; start: number; end: number }

/** The frames on one line of terminal text that name one of the project's files (start/end: columns). */
export function framesIn(text: string, projectPaths: readonly string[]): Frame[] {
  const frames: Frame[] = []
  for (const match of text.matchAll(FRAME)) {
    const path = match[1]!
    if (!projectPaths.includes(path)) continue
    frames.push({ path, line: Number(match[2]), start: match.index!, end: match.index! + match[0].length })
  }
  return frames
}

/** The innermost frame in the project's own files of the last traceback in `text`: the line to mark. */
export function failingFrame(text: string, projectPaths: readonly string[]): Frame | null {
  const start = text.lastIndexOf('Traceback (most recent call last):')
  const frames = framesIn(start >= 0 ? text.slice(start) : text, projectPaths)
  return frames.at(-1) ?? null
}

/**
 * The last `limit` characters of terminal output, decoded as it streams in, so the failing line can
 * be found at exit without reading back the terminal.
 */
export class OutputTail {
  private decoder = new TextDecoder()
  private text = ''

  constructor(private readonly limit = 16_384) {}

  push(bytes: Uint8Array): void {
    this.text += this.decoder.decode(bytes, { stream: true })
    if (this.text.length > 2 * this.limit) this.text = this.text.slice(-this.limit)
  }

  value(): string {
    return this.text.slice(-this.limit)
  }

  reset(): void {
    this.decoder = new TextDecoder()
    this.text = ''
  }
}
