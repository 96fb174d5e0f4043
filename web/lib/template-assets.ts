// The starter templates' image and sound, made in code (a few hundred bytes each) so a template
// needs no download and a share link of it stays short.
import { zlibSync } from 'fflate'
import { bytesToBase64 } from './bytes'

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i)
  out.set(data, 8)
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
  return out
}

type Rgba = readonly [number, number, number, number]

/** An RGBA PNG whose pixel (x, y) is `paint(x, y)`. */
export function png(width: number, height: number, paint: (x: number, y: number) => Rgba): Uint8Array {
  const header = new Uint8Array(13)
  new DataView(header.buffer).setUint32(0, width)
  new DataView(header.buffer).setUint32(4, height)
  header.set([8, 6, 0, 0, 0], 8) // 8 bits, RGBA, deflate, no filter, no interlace
  const raw = new Uint8Array(height * (1 + width * 4))
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set(paint(x, y), y * (1 + width * 4) + 1 + x * 4)
  }
  const parts = [new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', zlibSync(raw, { level: 9 })), chunk('IEND', new Uint8Array())]
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  parts.reduce((offset, p) => { out.set(p, offset); return offset + p.length }, 0)
  return out
}

/** An 8-bit mono WAV of `samples` (each -1..1) at `rate` Hz. */
export function wav(samples: readonly number[], rate: number): Uint8Array {
  const out = new Uint8Array(44 + samples.length)
  const view = new DataView(out.buffer)
  const text = (offset: number, s: string) => { for (let i = 0; i < s.length; i++) out[offset + i] = s.charCodeAt(i) }
  text(0, 'RIFF'); view.setUint32(4, 36 + samples.length, true); text(8, 'WAVE')
  text(12, 'fmt '); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true)
  view.setUint32(24, rate, true); view.setUint32(28, rate, true); view.setUint16(32, 1, true); view.setUint16(34, 8, true)
  text(36, 'data'); view.setUint32(40, samples.length, true)
  samples.forEach((s, i) => { out[44 + i] = Math.round(128 + 127 * Math.max(-1, Math.min(1, s))) })
  return out
}

/** A smiling yellow ball, 40x40: the player sprite of the pygame game template. */
export function playerSprite(): Uint8Array {
  return png(40, 40, (x, y) => {
    const dx = x - 19.5; const dy = y - 19.5
    const r = Math.hypot(dx, dy)
    if (r > 19) return [0, 0, 0, 0]
    if (r > 17) return [150, 90, 0, 255]
    const eye = Math.hypot(Math.abs(dx) - 6, dy + 5) < 3
    const smile = dy > 3 && Math.abs(Math.hypot(dx, dy + 2) - 10) < 1.5
    return eye || smile ? [40, 30, 20, 255] : [255, 205, 40, 255]
  })
}

/** A short rising "bling" (two notes), 0.15 s: the coin sound of the pygame game template. */
export function coinSound(): Uint8Array {
  const rate = 11025
  const samples = Array.from({ length: Math.round(rate * 0.15) }, (_, i) => {
    const t = i / rate
    const frequency = t < 0.05 ? 988 : 1319
    return 0.5 * Math.sign(Math.sin(2 * Math.PI * frequency * t)) * (1 - t / 0.15)
  })
  return wav(samples, rate)
}

export const playerSpriteBase64 = (): string => bytesToBase64(playerSprite())
export const coinSoundBase64 = (): string => bytesToBase64(coinSound())
