// Spreads a display's picture updates over animation frames. Updates reach the page unevenly
// (network and main-thread jitter): two can land in one frame and none in the next, and the
// student sees one of them only, then a frame that repeats. noVNC draws each update into its
// canvas as it arrives (a `drawImage` of the changed area from its back buffer); the pacer lets
// the first draw of a frame through and keeps a copy of any further one for the next frame, so
// 55 updates a second show as 55 frames. At most `maxQueued` copies wait (a frame or two of
// delay); past that the pacer catches up by drawing them all at once, as noVNC alone would.

/** The 2D context of the display's visible canvas (what noVNC's Display flips into). */
export interface PacedContext {
  drawImage(...args: unknown[]): void
}

/** A scratch canvas that holds a copy of one update's area until its frame. */
export interface ScratchCanvas {
  width: number
  height: number
  getContext(kind: '2d'): { drawImage(...args: unknown[]): void } | null
}

export interface FramePacerOptions {
  /** Runs a callback at the next animation frame (requestAnimationFrame in a browser). */
  schedule(callback: () => void): void
  makeCanvas(): ScratchCanvas
  maxQueued?: number
}

interface Pending { copy: ScratchCanvas; dx: number; dy: number; dw: number; dh: number }

/** Paces the 9-argument `drawImage` calls on `context`; returns a function that undoes it (drawing what waits). */
export function paceFrames(context: PacedContext, options: FramePacerOptions): () => void {
  const own = Object.prototype.hasOwnProperty.call(context, 'drawImage') ? context.drawImage : null
  // The prototype's method, looked up at each call (so a page that instruments drawImage sees these draws).
  const draw = (...args: unknown[]) => {
    const method = own ?? (Object.getPrototypeOf(context) as PacedContext).drawImage
    method.apply(context, args)
  }
  const maxQueued = options.maxQueued ?? 2
  const queue: Pending[] = []
  const spare: ScratchCanvas[] = []
  let drewThisFrame = false
  let frameScheduled = false
  let disposed = false

  const drawPending = (item: Pending) => {
    draw(item.copy, 0, 0, item.dw, item.dh, item.dx, item.dy, item.dw, item.dh)
    spare.push(item.copy)
  }
  const onFrame = () => {
    frameScheduled = false
    drewThisFrame = false
    if (disposed) return
    const next = queue.shift()
    if (next) { drawPending(next); drewThisFrame = true }
    if (queue.length > 0 || drewThisFrame) scheduleFrame()
  }
  const scheduleFrame = () => {
    if (frameScheduled) return
    frameScheduled = true
    options.schedule(onFrame)
  }
  const keep = (source: unknown, sx: number, sy: number, sw: number, sh: number, dx: number, dy: number) => {
    const copy = spare.pop() ?? options.makeCanvas()
    if (copy.width < sw) copy.width = sw
    if (copy.height < sh) copy.height = sh
    copy.getContext('2d')?.drawImage(source, sx, sy, sw, sh, 0, 0, sw, sh)
    queue.push({ copy, dx, dy, dw: sw, dh: sh })
  }

  context.drawImage = (...args: unknown[]) => {
    // Only noVNC's flip (a 1:1 copy of an area) is paced; anything else goes at once, in order.
    const [source, sx, sy, sw, sh, dx, dy, dw, dh] = args as [unknown, number, number, number, number, number, number, number, number]
    if (disposed || args.length !== 9 || sw !== dw || sh !== dh) { flush(); draw(...args); return }
    if (!drewThisFrame && queue.length === 0) {
      draw(...args)
      drewThisFrame = true
      scheduleFrame()
      return
    }
    if (queue.length >= maxQueued) { flush(); draw(...args); return }
    keep(source, sx, sy, sw, sh, dx, dy)
    scheduleFrame()
  }
  const flush = () => { for (const item of queue.splice(0)) drawPending(item) }

  return () => {
    if (disposed) return
    disposed = true
    flush()
    if (own) context.drawImage = own
    else delete (context as { drawImage?: unknown }).drawImage // the prototype's method again
  }
}
