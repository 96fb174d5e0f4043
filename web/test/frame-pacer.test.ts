import { describe, expect, it } from 'vitest'
import { paceFrames, type ScratchCanvas } from '../lib/frame-pacer'

/** A canvas whose pixels are a label per area: enough to see which update's picture is where. */
class FakeCanvas implements ScratchCanvas {
  width = 0
  height = 0
  content = ''
  getContext() { return { drawImage: (source: unknown) => { this.content = (source as FakeCanvas).content } } }
}

class Frames {
  queue: (() => void)[] = []
  schedule = (callback: () => void) => { this.queue.push(callback) }
  run(): void { const q = this.queue; this.queue = []; q.forEach((f) => f()) }
}

/** The visible canvas's context: records what was drawn, frame by frame. */
function target() {
  const drawn: string[] = []
  const context = { drawImage: (source: unknown, ...rest: unknown[]) => { drawn.push(`${(source as FakeCanvas).content}@${rest.slice(4, 6).join(',')}`) } }
  return { context, drawn }
}

const flip = (backbuffer: FakeCanvas, update: string, x = 0) => { backbuffer.content = update; return [backbuffer, x, 0, 10, 10, x, 0, 10, 10] as const }

describe('paceFrames', () => {
  it('draws the first update of a frame at once and keeps a copy of the next for the following frame', () => {
    const { context, drawn } = target()
    const frames = new Frames()
    paceFrames(context, { schedule: frames.schedule, makeCanvas: () => new FakeCanvas() })
    const backbuffer = new FakeCanvas()
    context.drawImage(...flip(backbuffer, 'u1'))
    context.drawImage(...flip(backbuffer, 'u2', 5)) // same frame: waits, as it was when it came
    backbuffer.content = 'u3 already' // noVNC goes on drawing into its back buffer
    expect(drawn).toEqual(['u1@0,0'])
    frames.run()
    expect(drawn).toEqual(['u1@0,0', 'u2@5,0'])
    frames.run() // a frame with nothing new
    context.drawImage(...flip(backbuffer, 'u4'))
    expect(drawn).toEqual(['u1@0,0', 'u2@5,0', 'u4@0,0'])
  })

  it('catches up when more than maxQueued wait, in order, and lets other draws through after what waits', () => {
    const { context, drawn } = target()
    const frames = new Frames()
    paceFrames(context, { schedule: frames.schedule, makeCanvas: () => new FakeCanvas(), maxQueued: 2 })
    const backbuffer = new FakeCanvas()
    for (const update of ['a', 'b', 'c', 'd']) context.drawImage(...flip(backbuffer, update))
    expect(drawn).toEqual(['a@0,0', 'b@0,0', 'c@0,0', 'd@0,0'])
    context.drawImage(...flip(backbuffer, 'e'))
    context.drawImage(backbuffer, 0, 0) // not a flip: what waits goes first
    expect(drawn.slice(4)).toEqual(['e@0,0', 'e@'])
  })

  it('undoing it draws what waits and gives the context its own drawImage back', () => {
    const { context, drawn } = target()
    const original = context.drawImage
    const frames = new Frames()
    const undo = paceFrames(context, { schedule: frames.schedule, makeCanvas: () => new FakeCanvas() })
    const backbuffer = new FakeCanvas()
    context.drawImage(...flip(backbuffer, 'x'))
    context.drawImage(...flip(backbuffer, 'y'))
    undo()
    expect(drawn).toEqual(['x@0,0', 'y@0,0'])
    expect(context.drawImage).toBe(original)
    frames.run()
    expect(drawn).toHaveLength(2)
  })
})
