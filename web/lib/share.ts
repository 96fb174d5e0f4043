// A whole project (files and assets) in a link: deflated JSON in the URL fragment, so nothing is
// stored on a server and the fragment never even reaches one. Opening the link makes a copy.
import { Inflate, deflateSync, strFromU8, strToU8 } from 'fflate'
import { fromBase64Url, toBase64Url } from './bytes'
import { checkedFiles, isAsset, type ProjectFile } from './project'

/**
 * Longest fragment a share link may carry. Browsers take far longer URLs, but chat apps, e-mail
 * and classroom tools cut or refuse them; past this the IDE offers a .zip instead.
 */
export const MAX_SHARE_CHARS = 32_000
/** What a hostile link may inflate to before it is refused (a deflate bomb stops here). */
export const MAX_SHARED_JSON_BYTES = 16 * 1024 * 1024
export const SHARE_PREFIX = 'share='

export interface SharedProject { name: string; files: ProjectFile[] }

export class ShareError extends Error {}

type Wire = { v: 1; name: string; files: ({ p: string; t: string } | { p: string; b: string; m: string })[] }

export function encodeShare(project: SharedProject): string {
  const wire: Wire = {
    v: 1,
    name: project.name,
    files: project.files.map((f) => (isAsset(f) ? { p: f.path, b: f.base64, m: f.mime } : { p: f.path, t: f.text })),
  }
  return toBase64Url(deflateSync(strToU8(JSON.stringify(wire)), { level: 9 }))
}

/** The link to share, or how long it would be when that is over the limit. */
export function shareLink(pageUrl: string, project: SharedProject): { url: string } | { tooLong: number } {
  const fragment = SHARE_PREFIX + encodeShare(project)
  if (fragment.length > MAX_SHARE_CHARS) return { tooLong: fragment.length }
  const url = new URL(pageUrl)
  url.hash = fragment
  return { url: url.toString() }
}

/** The shared project in a URL fragment (`#share=…`), null when the fragment is not a share link. */
export function sharedProjectIn(hash: string): (SharedProject & { problems: string[] }) | null {
  const fragment = hash.replace(/^#/, '')
  if (!fragment.startsWith(SHARE_PREFIX)) return null
  return decodeShare(fragment.slice(SHARE_PREFIX.length))
}

/** Throws ShareError with words for the student when the link is cut short, damaged or hostile. */
export function decodeShare(payload: string): SharedProject & { problems: string[] } {
  let wire: unknown
  try {
    wire = JSON.parse(strFromU8(inflateBounded(fromBase64Url(payload))))
  } catch (error) {
    if (error instanceof ShareError) throw error
    throw new ShareError('This share link is damaged or incomplete: ask for it again, or for the project as a .zip.')
  }
  if (!isWire(wire)) throw new ShareError('This share link is not a pyplay project.')
  const candidates = wire.files.map((f): ProjectFile => ('t' in f ? { path: f.p, text: f.t } : { path: f.p, base64: f.b, mime: f.m }))
  const { files, problems } = checkedFiles(candidates)
  if (files.length === 0) throw new ShareError('This share link holds no files.')
  return { name: wire.name.slice(0, 60) || 'Shared project', files, problems }
}

function inflateBounded(compressed: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = []
  let total = 0
  let finished = false
  const inflater = new Inflate((chunk, final) => {
    total += chunk.length
    if (total > MAX_SHARED_JSON_BYTES) throw new ShareError('This share link unpacks to more than a project may hold.')
    parts.push(chunk)
    finished ||= final
  })
  // Small steps, so a bomb is caught after at most ~1 MB of output per step.
  for (let i = 0; i < compressed.length; i += 1024) inflater.push(compressed.subarray(i, i + 1024), i + 1024 >= compressed.length)
  if (!finished) throw new ShareError('This share link is cut short: ask for it again.')
  const out = new Uint8Array(total)
  parts.reduce((offset, p) => { out.set(p, offset); return offset + p.length }, 0)
  return out
}

function isWire(value: unknown): value is Wire {
  const wire = value as Wire
  return typeof wire === 'object' && wire !== null && wire.v === 1 && typeof wire.name === 'string' && Array.isArray(wire.files) &&
    wire.files.every((f) => typeof f?.p === 'string' && (typeof (f as { t: unknown }).t === 'string' ||
      (typeof (f as { b: unknown }).b === 'string' && typeof (f as { m: unknown }).m === 'string')))
}
