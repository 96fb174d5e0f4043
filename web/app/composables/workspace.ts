// The student's projects in this browser, as the IDE uses them: the open project (reactive, saved on
// every change), the list, edits from other tabs, and what the project menu does. Storage itself is
// lib/storage.ts; this is the glue to Vue and to the page's events.
import { inject, reactive, ref, shallowRef, watch, type InjectionKey, type Ref } from 'vue'
import { IndexedDbAssetStore } from '~~/lib/asset-db'
import { entryFile, isAsset, type ProjectFile } from '~~/lib/project'
import { Presence } from '~~/lib/presence'
import { ShareError, sharedProjectIn } from '~~/lib/share'
import {
  AssetSync, INDEX_KEY, LAST_PROJECT_KEY, ProjectLibrary, SaveError, mergeSaved, parseFiles, projectKey, serializeFiles,
  type ProjectMeta,
} from '~~/lib/storage'
import { DEFAULT_TEMPLATE, templateById } from '~~/lib/templates'
import type { Project } from './project'

/** Per tab (sessionStorage): which project this tab shows, and its open file, so a reload keeps both. */
const TAB_PROJECT_KEY = 'pyplay.tabProject'
const activeKey = (id: string) => `pyplay.active.${id}`
const ASSET_RETRIES = 10
const ASSET_RETRY_MS = 300

const firstFile = (files: readonly ProjectFile[]): string => entryFile(files, null) ?? files[0]?.path ?? ''

export class Workspace {
  readonly project = reactive<Project>({ id: '', name: '', template: null, files: [], active: '' })
  readonly projects = shallowRef<ProjectMeta[]>([])
  /** Why the last save failed, shown until a save works again. */
  readonly saveProblem: Ref<string | null> = ref(null)
  /** A one-off message for the student (a shared copy opened, files left out of an upload). */
  readonly notice: Ref<string | null> = ref(null)
  /** Another tab of this browser has this project open (edits show up in both). */
  readonly openElsewhere = ref(false)
  private readonly library = new ProjectLibrary(localStorage, new IndexedDbAssetStore())
  private readonly presence = new Presence((others) => { this.openElsewhere.value = others })
  private assets = new AssetSync(this.library, '')
  private lastJson = ''
  private saveQueued = false
  private readonly stopWatching: (() => void)[] = []

  constructor() {
    // Every change is written at once: microtasks run before the page can unload, so an edit made
    // just before a reload is kept; pagehide and a hidden tab flush anything still queued.
    this.stopWatching.push(
      watch(() => this.project.files, () => this.queueSave(), { deep: true, flush: 'sync' }),
      watch(() => this.project.active, (path) => { if (this.project.id && path) sessionStorage.setItem(activeKey(this.project.id), path) }),
    )
    window.addEventListener('storage', this.onStorage)
    window.addEventListener('pagehide', this.onPageHide)
    window.addEventListener('pageshow', this.onPageShow)
    document.addEventListener('visibilitychange', this.onVisibility)
    this.start()
  }

  /** Shows project `id`; `known` are its files when the caller has them in full (just created). */
  open(id: string, known?: ProjectFile[]): void {
    const meta = this.library.meta(id)
    const files = meta && (known ?? this.library.loadText(id))
    if (!meta || !files) return
    this.flush()
    this.lastJson = serializeFiles(files)
    this.assets = new AssetSync(this.library, id)
    this.assets.seed(files)
    Object.assign(this.project, { id, name: meta.name, template: meta.template, files })
    const active = sessionStorage.getItem(activeKey(id))
    this.project.active = files.some((f) => f.path === active) ? active! : firstFile(files)
    sessionStorage.setItem(TAB_PROJECT_KEY, id)
    localStorage.setItem(LAST_PROJECT_KEY, id)
    this.presence.open(id)
    this.refreshList()
    void this.fillAssets(id)
  }

  create(name: string, files: ProjectFile[], template: string | null): void {
    this.attempt(() => {
      const { meta, assets } = this.library.create(name, files, template)
      assets.catch((error: Error) => { this.saveProblem.value = error.message })
      this.open(meta.id, files)
    })
  }

  rename(name: string): void {
    this.attempt(() => { this.project.name = this.library.rename(this.project.id, name); this.refreshList() })
  }

  async remove(): Promise<void> {
    await this.library.remove(this.project.id)
    this.project.id = ''
    this.openFirst()
  }

  resetToTemplate(): void {
    const template = templateById(this.project.template)
    if (!template) return
    this.project.files = template.files()
    this.project.active = firstFile(this.project.files)
  }

  close(): void {
    this.flush()
    this.presence.close()
    for (const stop of this.stopWatching.splice(0)) stop()
    window.removeEventListener('storage', this.onStorage)
    window.removeEventListener('pagehide', this.onPageHide)
    window.removeEventListener('pageshow', this.onPageShow)
    document.removeEventListener('visibilitychange', this.onVisibility)
  }

  private start(): void {
    this.library.migrateLegacy().catch((error: Error) => { this.saveProblem.value = error.message })
    if (this.openShared()) return
    const wanted = [sessionStorage.getItem(TAB_PROJECT_KEY), localStorage.getItem(LAST_PROJECT_KEY)]
    const id = wanted.find((w) => w && this.library.meta(w))
    if (id) this.open(id)
    else this.openFirst()
  }

  private openFirst(): void {
    const first = this.library.list()[0]
    if (first) this.open(first.id)
    else this.create('My first project', templateById(DEFAULT_TEMPLATE)!.files(), DEFAULT_TEMPLATE)
  }

  /** A share link (`#share=…`) becomes the student's own copy; the fragment is then dropped. */
  private openShared(): boolean {
    let shared
    try {
      shared = sharedProjectIn(location.hash)
    } catch (error) {
      if (!(error instanceof ShareError)) throw error
      this.notice.value = error.message
    }
    if (location.hash) history.replaceState(null, '', location.pathname + location.search)
    if (!shared) return false
    this.create(shared.name, shared.files, null)
    const left = shared.problems.length ? ` Left out: ${shared.problems.join(' ')}` : ''
    this.notice.value = `This is your own copy of “${this.project.name}”: your changes stay in this browser.${left}`
    return this.project.id !== ''
  }

  private queueSave(): void {
    if (this.saveQueued) return
    this.saveQueued = true
    queueMicrotask(() => this.save())
  }

  private save(): void {
    this.saveQueued = false
    if (!this.project.id) return
    const json = serializeFiles(this.project.files)
    if (json !== this.lastJson) this.attempt(() => { this.library.saveFiles(this.project.id, json); this.lastJson = json })
    this.assets.sync(this.project.files).catch((error: Error) => { this.saveProblem.value = error.message })
  }

  private flush(): void {
    if (this.saveQueued) this.save()
  }

  private attempt(action: () => void): void {
    try {
      action()
      this.saveProblem.value = null
    } catch (error) {
      if (!(error instanceof SaveError)) throw error
      this.saveProblem.value = error.message
    }
  }

  private refreshList(): void {
    this.projects.value = this.library.list()
  }

  /** Fills asset placeholders from IndexedDB; another tab may still be writing one, so retry a little. */
  private async fillAssets(id: string, tries = ASSET_RETRIES): Promise<void> {
    const { project } = this
    for (const file of project.files.filter((f) => isAsset(f) && !f.base64)) {
      const loaded = await this.library.loadAsset(id, file.path, (file as { mime: string }).mime)
      const current = project.id === id ? project.files.find((f) => f.path === file.path) : undefined
      if (!loaded.base64 || !current || !isAsset(current) || current.base64) continue
      this.assets.seed([loaded])
      current.base64 = loaded.base64
    }
    if (tries > 0 && project.id === id && project.files.some((f) => isAsset(f) && !f.base64)) {
      setTimeout(() => void this.fillAssets(id, tries - 1), ASSET_RETRY_MS)
    }
  }

  /** Another tab saved this project: take its files, keeping this tab's open file and loaded assets. */
  private applyRemote(raw: string): void {
    const saved = parseFiles(raw)
    if (!saved) return
    const { project } = this
    const { files, inPlace } = mergeSaved(project.files, saved)
    if (inPlace) {
      files.forEach((f, i) => { const mine = project.files[i]!; if (!isAsset(f) && !isAsset(mine) && mine.text !== f.text) mine.text = f.text })
    } else {
      project.files = files
      if (!files.some((f) => f.path === project.active)) project.active = firstFile(files)
      void this.fillAssets(project.id)
    }
    this.lastJson = serializeFiles(project.files)
  }

  private readonly onStorage = (event: StorageEvent): void => {
    if (event.storageArea !== localStorage) return
    if (event.key === INDEX_KEY) {
      this.refreshList()
      const meta = this.library.meta(this.project.id)
      if (meta) this.project.name = meta.name
    } else if (event.key === projectKey(this.project.id)) {
      if (event.newValue === null) {
        this.notice.value = `“${this.project.name}” was deleted in another tab.`
        this.openFirst()
      } else if (event.newValue !== this.lastJson) {
        this.applyRemote(event.newValue)
      }
    }
  }

  private readonly onPageHide = (): void => { this.flush(); this.presence.leave() }
  /** Back from the back/forward cache, where no storage events arrive: catch up before any save. */
  private readonly onPageShow = (event: PageTransitionEvent): void => {
    if (!event.persisted || !this.project.id) return
    const saved = localStorage.getItem(projectKey(this.project.id))
    if (saved !== null && saved !== this.lastJson) this.applyRemote(saved)
    this.presence.open(this.project.id)
  }
  private readonly onVisibility = (): void => { if (document.visibilityState === 'hidden') this.flush() }
}

export const WorkspaceKey: InjectionKey<Workspace> = Symbol('pyplay-workspace')

export const createWorkspace = (): Workspace => new Workspace()

export function useWorkspace(): Workspace {
  const workspace = inject(WorkspaceKey)
  if (!workspace) throw new Error('useWorkspace() outside the IDE: provide(WorkspaceKey, createWorkspace()) first')
  return workspace
}
