// The student's projects in this browser, as the IDE uses them: the open project (reactive, saved on
// every change), the list, and what the project menu does. Storage itself is lib/storage.ts.
import { inject, reactive, ref, shallowRef, watch, type InjectionKey, type Ref } from 'vue'
import { IndexedDbAssetStore } from '~~/lib/asset-db'
import { entryFile, isAsset, type ProjectFile } from '~~/lib/project'
import { Presence } from '~~/lib/presence'
import { ShareError, sharedProjectIn } from '~~/lib/share'
import {
  AssetSync, INDEX_KEY, LAST_PROJECT_KEY, ProjectLibrary, SaveError, parseFiles, projectKey, serializeFiles,
  type ProjectMeta, type SavedFile,
} from '~~/lib/storage'
import { DEFAULT_TEMPLATE, templateById } from '~~/lib/templates'
import type { Project } from './project'

/** Per tab (sessionStorage): which project this tab shows, and its open file, so a reload keeps both. */
const TAB_PROJECT_KEY = 'pyplay.tabProject'
const activeKey = (id: string) => `pyplay.active.${id}`
const ASSET_RETRIES = 10
const ASSET_RETRY_MS = 300

export interface Workspace {
  project: Project
  projects: Ref<ProjectMeta[]>
  /** Why the last save failed, shown until a save works again. */
  saveProblem: Ref<string | null>
  /** A one-off message for the student (a shared copy opened, files left out of an upload). */
  notice: Ref<string | null>
  /** Another tab of this browser has this project open (edits show up in both). */
  openElsewhere: Ref<boolean>
  open(id: string): void
  create(name: string, files: ProjectFile[], template: string | null): void
  rename(name: string): void
  remove(): Promise<void>
  resetToTemplate(): void
  close(): void
}

export const WorkspaceKey: InjectionKey<Workspace> = Symbol('pyplay-workspace')

export function createWorkspace(): Workspace {
  const library = new ProjectLibrary(localStorage, new IndexedDbAssetStore())
  const project = reactive<Project>({ id: '', name: '', template: null, files: [], active: '' })
  const projects = shallowRef<ProjectMeta[]>([])
  const saveProblem = ref<string | null>(null)
  const notice = ref<string | null>(null)
  const openElsewhere = ref(false)
  const presence = new Presence((others) => { openElsewhere.value = others })
  let assets = new AssetSync(library, '')
  let lastJson = ''
  let saveQueued = false

  const attempt = (action: () => void): void => {
    try { action(); saveProblem.value = null } catch (error) {
      if (!(error instanceof SaveError)) throw error
      saveProblem.value = error.message
    }
  }
  const refreshList = () => { projects.value = library.list() }

  function save(): void {
    saveQueued = false
    if (!project.id) return
    const json = serializeFiles(project.files)
    if (json !== lastJson) attempt(() => { library.saveFiles(project.id, json); lastJson = json })
    assets.sync(project.files).catch((error: Error) => { saveProblem.value = error.message })
  }

  /** Fills asset placeholders from IndexedDB; another tab may still be writing one, so retry a little. */
  async function fillAssets(id: string, tries = ASSET_RETRIES): Promise<void> {
    const missing = project.files.filter((f) => isAsset(f) && !f.base64)
    for (const file of missing) {
      const loaded = await library.loadAsset(id, file.path, (file as { mime: string }).mime)
      const current = project.id === id ? project.files.find((f) => f.path === file.path) : undefined
      if (!loaded.base64 || !current || !isAsset(current) || current.base64) continue
      assets.seed([loaded])
      current.base64 = loaded.base64
    }
    if (tries > 0 && project.id === id && project.files.some((f) => isAsset(f) && !f.base64)) {
      setTimeout(() => void fillAssets(id, tries - 1), ASSET_RETRY_MS)
    }
  }

  /** Shows project `id`; `known` are its files when the caller has them in full (just created). */
  function open(id: string, known?: ProjectFile[]): void {
    const meta = library.meta(id)
    const files = meta && (known ?? library.loadText(id))
    if (!meta || !files) return
    if (project.id && saveQueued) save()
    lastJson = serializeFiles(files)
    assets = new AssetSync(library, id)
    assets.seed(files)
    Object.assign(project, { id, name: meta.name, template: meta.template, files })
    const active = sessionStorage.getItem(activeKey(id))
    project.active = files.some((f) => f.path === active) ? active! : entryFile(files, null) ?? files[0]?.path ?? ''
    sessionStorage.setItem(TAB_PROJECT_KEY, id)
    localStorage.setItem(LAST_PROJECT_KEY, id)
    presence.open(id)
    refreshList()
    void fillAssets(id)
  }

  function create(name: string, files: ProjectFile[], template: string | null): void {
    attempt(() => {
      const { meta, assets: written } = library.create(name, files, template)
      written.catch((error: Error) => { saveProblem.value = error.message })
      open(meta.id, files)
    })
  }

  /** Another tab saved this project: take its files, keeping this tab's open file and loaded assets. */
  function applyRemote(saved: SavedFile[]): void {
    const same = saved.length === project.files.length && saved.every((f, i) => f.path === project.files[i]!.path && ('text' in f) === !isAsset(project.files[i]!))
    if (same) {
      saved.forEach((f, i) => { const mine = project.files[i]!; if ('text' in f && !isAsset(mine) && mine.text !== f.text) mine.text = f.text })
    } else {
      project.files = saved.map((f) => ('text' in f ? { ...f } : project.files.find((m) => m.path === f.path && isAsset(m)) ?? { path: f.path, mime: f.mime, base64: '' }))
      if (!project.files.some((f) => f.path === project.active)) project.active = entryFile(project.files, null) ?? project.files[0]?.path ?? ''
      void fillAssets(project.id)
    }
    lastJson = serializeFiles(project.files)
  }

  function onStorage(event: StorageEvent): void {
    if (event.storageArea !== localStorage) return
    if (event.key === INDEX_KEY) {
      refreshList()
      const meta = library.meta(project.id)
      if (meta) project.name = meta.name
    } else if (event.key === projectKey(project.id)) {
      if (event.newValue === null) {
        notice.value = `“${project.name}” was deleted in another tab.`
        openFirst()
      } else if (event.newValue !== lastJson) {
        const saved = parseFiles(event.newValue)
        if (saved) applyRemote(saved)
      }
    }
  }

  function openFirst(): void {
    const list = library.list()
    if (list[0]) open(list[0].id)
    else create('My first project', templateById(DEFAULT_TEMPLATE)!.files(), DEFAULT_TEMPLATE)
  }

  function start(): void {
    library.migrateLegacy().catch((error: Error) => { saveProblem.value = error.message })
    const shared = openShared()
    if (shared) return
    const wanted = [sessionStorage.getItem(TAB_PROJECT_KEY), localStorage.getItem(LAST_PROJECT_KEY)]
    const id = wanted.find((w) => w && library.meta(w))
    if (id) open(id)
    else openFirst()
  }

  /** A share link (`#share=…`) becomes the student's own copy; the fragment is then dropped. */
  function openShared(): boolean {
    let shared
    try {
      shared = sharedProjectIn(location.hash)
    } catch (error) {
      if (!(error instanceof ShareError)) throw error
      notice.value = error.message
    }
    if (location.hash) history.replaceState(null, '', location.pathname + location.search)
    if (!shared) return false
    create(shared.name, shared.files, null)
    notice.value = `This is your own copy of “${project.name}”: your changes stay in this browser.` +
      (shared.problems.length ? ` Left out: ${shared.problems.join(' ')}` : '')
    return project.name !== ''
  }

  const flush = () => { if (saveQueued) save() }
  const onPageHide = () => { flush(); presence.leave() }
  const onPageShow = (event: PageTransitionEvent) => { if (event.persisted && project.id) presence.open(project.id) }
  const onVisibility = () => { if (document.visibilityState === 'hidden') flush() }
  // Every change is written at once: microtasks run before the page can unload, so an edit made
  // just before a reload is kept; pagehide and a hidden tab flush anything still queued.
  watch(() => project.files, () => {
    if (saveQueued) return
    saveQueued = true
    queueMicrotask(save)
  }, { deep: true, flush: 'sync' })
  watch(() => project.active, (path) => { if (project.id && path) sessionStorage.setItem(activeKey(project.id), path) })
  window.addEventListener('storage', onStorage)
  window.addEventListener('pagehide', onPageHide)
  window.addEventListener('pageshow', onPageShow)
  document.addEventListener('visibilitychange', onVisibility)
  start()

  return {
    project, projects, saveProblem, notice, openElsewhere, open, create,
    rename(name) { attempt(() => { project.name = library.rename(project.id, name); refreshList() }) },
    async remove() {
      const id = project.id
      await library.remove(id)
      project.id = ''
      openFirst()
    },
    resetToTemplate() {
      const template = templateById(project.template)
      if (template) project.files = template.files()
      project.active = entryFile(project.files, null) ?? project.files[0]?.path ?? ''
    },
    close() {
      flush()
      presence.close()
      window.removeEventListener('storage', onStorage)
      window.removeEventListener('pagehide', onPageHide)
      window.removeEventListener('pageshow', onPageShow)
      document.removeEventListener('visibilitychange', onVisibility)
    },
  }
}

export function useWorkspace(): Workspace {
  const workspace = inject(WorkspaceKey)
  if (!workspace) throw new Error('useWorkspace() outside the IDE: provide(WorkspaceKey, createWorkspace()) first')
  return workspace
}
