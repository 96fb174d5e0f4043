// The student's projects in this browser: a list, each project's text files in localStorage (a
// synchronous write, so an edit made just before a reload or a closed tab is kept) and its assets
// (images, sounds) as bytes in IndexedDB, where they do not eat the ~5 MB localStorage quota
// that the code needs. Framework-free: the IDE wraps it in app/composables/workspace.ts.
import { base64ToBytes, bytesToBase64 } from './bytes'
import { MAX_FILES, isAsset, parseSavedFiles, type AssetFile, type ProjectFile, type TextFile } from './project'

export interface ProjectMeta { id: string; name: string; template: string | null; updated: number }

/** What localStorage holds for one project: text in full, assets by name only. */
export type SavedFile = TextFile | { path: string; mime: string; asset: true }

/** localStorage, or anything with its three methods (tests use a Map). */
export interface KeyValueStore {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

/** Where asset bytes live (IndexedDB in the browser: lib/asset-db.ts). */
export interface AssetStore {
  get(project: string, path: string): Promise<{ bytes: Uint8Array; mime: string } | null>
  put(project: string, path: string, bytes: Uint8Array, mime: string): Promise<void>
  remove(project: string, path: string): Promise<void>
  removeProject(project: string): Promise<void>
}

export const INDEX_KEY = 'pyplay.projects.v2'
export const LEGACY_KEY = 'pyplay.files.v1'
export const LAST_PROJECT_KEY = 'pyplay.lastProject'
export const projectKey = (id: string): string => `pyplay.project.${id}`
export const MAX_PROJECTS = 100
export const MAX_NAME_LENGTH = 60

/** A save that did not happen, in words for the student. */
export class SaveError extends Error {}

export function serializeFiles(files: readonly ProjectFile[]): string {
  const saved: SavedFile[] = files.map((f) => (isAsset(f) ? { path: f.path, mime: f.mime, asset: true } : { path: f.path, text: f.text }))
  return JSON.stringify(saved)
}

/** A project's saved files; anything malformed is dropped rather than trusted. */
export function parseFiles(raw: string | null): SavedFile[] | null {
  if (!raw) return null
  try {
    const value = JSON.parse(raw) as unknown
    if (!Array.isArray(value)) return null
    return value.filter((f): f is SavedFile => typeof f?.path === 'string' &&
      (typeof f.text === 'string' || (f.asset === true && typeof f.mime === 'string'))).slice(0, MAX_FILES)
  } catch {
    return null
  }
}

export function parseIndex(raw: string | null): ProjectMeta[] {
  if (!raw) return []
  try {
    const value = JSON.parse(raw) as unknown
    if (!Array.isArray(value)) return []
    return value.filter((p): p is ProjectMeta => typeof p?.id === 'string' && /^[a-z0-9-]{1,40}$/.test(p.id) &&
      typeof p.name === 'string' && typeof p.updated === 'number' && (p.template === null || typeof p.template === 'string'))
      .slice(0, MAX_PROJECTS)
  } catch {
    return []
  }
}

/** `name`, or `name (2)`, `name (3)`… when taken. */
export function uniqueName(name: string, taken: readonly string[]): string {
  const base = name.trim().slice(0, MAX_NAME_LENGTH) || 'My project'
  if (!taken.includes(base)) return base
  for (let n = 2; ; n++) if (!taken.includes(`${base} (${n})`)) return `${base} (${n})`
}

const randomId = (): string => Math.random().toString(36).slice(2, 10) + Date.now().toString(36)

export class ProjectLibrary {
  constructor(
    readonly store: KeyValueStore,
    readonly assets: AssetStore,
    private readonly now: () => number = Date.now,
    private readonly newId: () => string = randomId,
  ) {}

  list(): ProjectMeta[] {
    return parseIndex(this.store.getItem(INDEX_KEY))
  }

  meta(id: string): ProjectMeta | undefined {
    return this.list().find((p) => p.id === id)
  }

  /**
   * A new project holding `files`: its code and its place in the list are saved at once (throws
   * SaveError when the browser refuses), its assets by the returned promise.
   */
  create(name: string, files: readonly ProjectFile[], template: string | null): { meta: ProjectMeta; assets: Promise<void> } {
    const list = this.list()
    if (list.length >= MAX_PROJECTS) throw new SaveError(`You can keep at most ${MAX_PROJECTS} projects here: delete one first.`)
    const meta: ProjectMeta = { id: this.newId(), name: uniqueName(name, list.map((p) => p.name)), template, updated: this.now() }
    this.write(projectKey(meta.id), serializeFiles(files))
    this.writeIndex([meta, ...list])
    const assets = files.filter(isAsset).reduce((done, file) => done.then(() => this.putAsset(meta.id, file)), Promise.resolve())
    return { meta, assets }
  }

  /** Saves the text files (and which assets exist) at once; throws SaveError when the browser refuses. */
  saveFiles(id: string, json: string): void {
    this.write(projectKey(id), json)
    const list = this.list()
    const meta = list.find((p) => p.id === id)
    if (meta && this.now() - meta.updated > 60_000) { meta.updated = this.now(); this.writeIndex(list) }
  }

  /** A project's files at once, assets as placeholders with empty `base64` (fill them with loadAsset). */
  loadText(id: string): ProjectFile[] | null {
    const saved = parseFiles(this.store.getItem(projectKey(id)))
    return saved && saved.map((f) => ('text' in f ? f : { path: f.path, mime: f.mime, base64: '' }))
  }

  async loadFiles(id: string): Promise<ProjectFile[] | null> {
    const files = this.loadText(id)
    return files && Promise.all(files.map((f) => (isAsset(f) ? this.loadAsset(id, f.path, f.mime) : f)))
  }

  async loadAsset(id: string, path: string, mime: string): Promise<AssetFile> {
    const stored = await this.assets.get(id, path).catch(() => null)
    return { path, mime: stored?.mime ?? mime, base64: stored ? bytesToBase64(stored.bytes) : '' }
  }

  async putAsset(id: string, file: AssetFile): Promise<void> {
    try {
      await this.assets.put(id, file.path, base64ToBytes(file.base64), file.mime)
    } catch (error) {
      throw new SaveError(`${file.path} could not be saved in this browser (${(error as Error).name || 'storage error'}).`)
    }
  }

  rename(id: string, name: string): string {
    const list = this.list()
    const meta = list.find((p) => p.id === id)
    if (!meta) return name
    meta.name = uniqueName(name, list.filter((p) => p.id !== id).map((p) => p.name))
    this.writeIndex(list)
    return meta.name
  }

  async remove(id: string): Promise<void> {
    this.writeIndex(this.list().filter((p) => p.id !== id))
    this.store.removeItem(projectKey(id))
    await this.assets.removeProject(id).catch(() => undefined)
  }

  /** The files of the single-project IDE (before projects existed), once, as a project. */
  migrateLegacy(): Promise<void> {
    const legacy = parseSavedFiles(this.store.getItem(LEGACY_KEY))
    if (!legacy) return Promise.resolve()
    const { assets } = this.create('My project', legacy, null)
    this.store.removeItem(LEGACY_KEY)
    return assets
  }

  private writeIndex(list: ProjectMeta[]): void {
    this.write(INDEX_KEY, JSON.stringify(list))
  }

  private write(key: string, value: string): void {
    try {
      this.store.setItem(key, value)
    } catch (error) {
      throw new SaveError(`Your work could not be saved in this browser (${(error as Error).name || 'storage error'}): download the project as a .zip to keep it.`)
    }
  }
}

/**
 * Keeps the asset store in step with a project's assets: writes an asset whose bytes changed,
 * deletes one that is gone. Assets are immutable strings, so "changed" is a cheap comparison.
 */
export class AssetSync {
  private persisted = new Map<string, string>()

  constructor(private readonly library: ProjectLibrary, private readonly project: string) {}

  /** Marks assets as already stored (just loaded from the store). */
  seed(files: readonly ProjectFile[]): void {
    for (const f of files) if (isAsset(f) && f.base64) this.persisted.set(f.path, f.base64)
  }

  async sync(files: readonly ProjectFile[]): Promise<void> {
    const current = files.filter(isAsset).filter((f) => f.base64)
    const paths = new Set(current.map((f) => f.path))
    for (const file of current) {
      if (this.persisted.get(file.path) === file.base64) continue
      this.persisted.set(file.path, file.base64)
      try {
        await this.library.putAsset(this.project, file)
      } catch (error) {
        this.persisted.delete(file.path)
        throw error
      }
    }
    for (const path of [...this.persisted.keys()]) {
      if (paths.has(path) || files.some((f) => f.path === path)) continue
      this.persisted.delete(path)
      await this.library.assets.remove(this.project, path).catch(() => undefined)
    }
  }
}

/**
 * This tab's files after another tab saved `saved`: text taken from it, this tab's loaded assets
 * kept (an asset new to this tab comes as a placeholder to load). `inPlace` when only texts changed,
 * so the caller can update the files it has instead of replacing them.
 */
export function mergeSaved(mine: readonly ProjectFile[], saved: readonly SavedFile[]): { files: ProjectFile[]; inPlace: boolean } {
  const inPlace = saved.length === mine.length && saved.every((f, i) => f.path === mine[i]!.path && ('text' in f) === !isAsset(mine[i]!))
  const files = saved.map((f): ProjectFile => ('text' in f
    ? { path: f.path, text: f.text }
    : mine.find((m): m is AssetFile => m.path === f.path && isAsset(m)) ?? { path: f.path, mime: f.mime, base64: '' }))
  return { files, inPlace }
}
