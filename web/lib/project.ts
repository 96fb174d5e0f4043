// The student's files: what the editor tabs show and what a `run` sends. Pure functions, no Vue.
import type { ProgramFile } from './protocol'
import { bytesToBase64 as encodeBytes } from './bytes'

export interface TextFile { path: string; text: string }
export interface AssetFile { path: string; base64: string; mime: string }
export type ProjectFile = TextFile | AssetFile

export const isAsset = (file: ProjectFile): file is AssetFile => 'base64' in file

/** Client-side bounds; the server enforces its own limits and answers `too_large`. */
export const MAX_ASSET_BYTES = 5 * 1024 * 1024
export const MAX_FILES = 50

/** Why a file name cannot be used, in words for a student; null when it is fine. */
export function pathProblem(path: string, taken: readonly string[]): string | null {
  if (!path.trim()) return 'Give the file a name.'
  if (path.length > 100) return 'That name is too long.'
  if (path.startsWith('/') || path.includes('\\')) return 'Use a plain name like game.py or images/ship.png.'
  if (path.split('/').some((part) => part === '' || part === '.' || part === '..')) return 'Names cannot contain "..", "." or empty folders.'
  if (!/^[A-Za-z0-9_.\- /]+$/.test(path)) return 'Use letters, numbers, spaces, "-", "_", "." and "/".'
  if (taken.includes(path)) return `There is already a file called ${path}.`
  return null
}

/** main.py when there is one, else the file being edited when it is Python, else the first .py. */
export function entryFile(files: readonly ProjectFile[], activePath: string | null): string | null {
  const python = files.filter((f) => !isAsset(f) && f.path.endsWith('.py')).map((f) => f.path)
  if (python.includes('main.py')) return 'main.py'
  if (activePath && python.includes(activePath)) return activePath
  return python[0] ?? null
}

export function toProgramFiles(files: readonly ProjectFile[]): ProgramFile[] {
  return files.map((f) => (isAsset(f) ? { path: f.path, base64: f.base64 } : { path: f.path, text: f.text }))
}

/** A name for a new file that is not taken yet: untitled.py, untitled2.py, … */
export function freshName(taken: readonly string[], stem = 'untitled', extension = '.py'): string {
  for (let n = 1; ; n++) {
    const name = `${stem}${n === 1 ? '' : n}${extension}`
    if (!taken.includes(name)) return name
  }
}

/** Base64 of an ArrayBuffer without blowing the call stack on large files. */
export const bytesToBase64 = (buffer: ArrayBuffer): string => encodeBytes(new Uint8Array(buffer))

/**
 * Files from outside (a .zip, a share link) that may become a project: each checked like a
 * file the student names, within the project bounds; what is left out is said in words.
 */
export function checkedFiles(candidates: readonly ProjectFile[]): { files: ProjectFile[]; problems: string[] } {
  const files: ProjectFile[] = []
  const problems: string[] = []
  for (const file of candidates) {
    const problem = pathProblem(file.path, files.map((f) => f.path))
    if (problem) problems.push(`${file.path.slice(0, 100)}: ${problem}`)
    else if (files.length >= MAX_FILES) problems.push(`${file.path}: a project can have at most ${MAX_FILES} files.`)
    else if (isAsset(file) && file.base64.length * 0.75 > MAX_ASSET_BYTES) problems.push(`${file.path} is too big (the limit is ${MAX_ASSET_BYTES / 1024 / 1024} MB).`)
    else files.push(isAsset(file) && !/^[a-z]+\/[a-z0-9.+-]+$/i.test(file.mime) ? { ...file, mime: 'application/octet-stream' } : file)
  }
  return { files, problems }
}

/** Restores files saved in localStorage; anything malformed is ignored rather than trusted. */
export function parseSavedFiles(raw: string | null): ProjectFile[] | null {
  if (!raw) return null
  try {
    const value = JSON.parse(raw) as unknown
    if (!Array.isArray(value)) return null
    const files = value.filter((f): f is ProjectFile =>
      typeof f?.path === 'string' && (typeof f.text === 'string' || (typeof f.base64 === 'string' && typeof f.mime === 'string')))
    return files.length > 0 ? files.slice(0, MAX_FILES) : null
  } catch {
    return null
  }
}
