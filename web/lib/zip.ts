// A project as a .zip and back (fflate), for students who keep their work on a USB stick or hand it in.
import { strToU8, unzipSync, zipSync, type Zippable } from 'fflate'
import { base64ToBytes, bytesToBase64 } from './bytes'
import { isTextPath, mimeFor } from './file-kinds'
import { MAX_ASSET_BYTES, MAX_FILES, checkedFiles, isAsset, type ProjectFile } from './project'

/** Bounds on what an uploaded .zip may unpack to (a zip bomb stops here, before inflating). */
export const MAX_ZIP_ENTRIES = 200
export const MAX_UNZIPPED_BYTES = 20 * 1024 * 1024

export class ZipError extends Error {}

export function projectToZip(files: readonly ProjectFile[]): Uint8Array {
  const entries: Zippable = {}
  for (const file of files) entries[file.path] = isAsset(file) ? base64ToBytes(file.base64) : strToU8(file.text)
  return zipSync(entries, { level: 6, mtime: new Date('2026-01-01T00:00:00Z') })
}

/** The project files of a .zip; throws ZipError when it is not one or unpacks too big. */
export function zipToFiles(bytes: Uint8Array): { files: ProjectFile[]; problems: string[] } {
  let total = 0
  let count = 0
  let unzipped: Record<string, Uint8Array>
  try {
    unzipped = unzipSync(bytes, {
      filter: (entry) => {
        if (entry.name.endsWith('/') || ignored(entry.name)) return false
        count += 1
        total += entry.originalSize
        if (count > MAX_ZIP_ENTRIES || total > MAX_UNZIPPED_BYTES) throw new ZipError(`That .zip is too big for a project (at most ${MAX_FILES} files, ${MAX_ASSET_BYTES / 1024 / 1024} MB each).`)
        return true
      },
    })
  } catch (error) {
    if (error instanceof ZipError) throw error
    throw new ZipError('That file is not a .zip archive (or it is damaged).')
  }
  const names = Object.keys(unzipped)
  const prefix = commonFolder(names)
  const candidates = names.map((name): ProjectFile => {
    const path = name.slice(prefix.length)
    const data = unzipped[name]!
    const text = isTextPath(path) ? decodeText(data) : null
    return text !== null ? { path, text } : { path, base64: bytesToBase64(data), mime: mimeFor(path) }
  })
  return checkedFiles(candidates)
}

/** Archivers' own files (macOS resource forks, Python caches), never the student's. */
const ignored = (name: string): boolean => name.startsWith('__MACOSX/') || name.includes('__pycache__/') || name.endsWith('.DS_Store')

/** `project/` when every file sits in that one folder (a zipped folder), so main.py lands at the top. */
function commonFolder(names: readonly string[]): string {
  const first = names[0]
  const slash = first?.indexOf('/') ?? -1
  if (!first || slash < 0) return ''
  const folder = first.slice(0, slash + 1)
  return names.every((n) => n.startsWith(folder)) ? folder : ''
}

function decodeText(data: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data)
  } catch {
    return null
  }
}
