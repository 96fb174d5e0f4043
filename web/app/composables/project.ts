// The student's files as reactive state, saved in this browser so a reload loses nothing.
import { reactive, watch } from 'vue'
import {
  MAX_ASSET_BYTES, MAX_FILES, bytesToBase64, freshName, isAsset, parseSavedFiles, pathProblem,
  type ProjectFile,
} from '~~/lib/project'
import { STARTER_PROGRAM } from '~~/lib/examples'

const STORAGE_KEY = 'pyplay.files.v1'

export interface Project {
  files: ProjectFile[]
  active: string
}

export function createProject(): Project {
  const saved = import.meta.client ? parseSavedFiles(localStorage.getItem(STORAGE_KEY)) : null
  const files = saved ?? [{ path: 'main.py', text: STARTER_PROGRAM }]
  const project = reactive<Project>({ files, active: files[0]!.path })
  let timer: ReturnType<typeof setTimeout> | undefined
  watch(() => project.files, () => {
    clearTimeout(timer)
    timer = setTimeout(() => save(project.files), 400)
  }, { deep: true })
  return project
}

function save(files: ProjectFile[]): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(files))
  } catch {
    // Storage full (big assets): the files still live in this tab.
  }
}

const paths = (project: Project, except?: string) => project.files.map((f) => f.path).filter((p) => p !== except)

export function fileByPath(project: Project, path: string): ProjectFile | undefined {
  return project.files.find((f) => f.path === path)
}

/** Adds an empty Python file and returns its name, or a reason it cannot. */
export function addFile(project: Project): { path?: string; problem?: string } {
  if (project.files.length >= MAX_FILES) return { problem: `A project can have at most ${MAX_FILES} files.` }
  const path = freshName(paths(project))
  project.files.push({ path, text: '' })
  project.active = path
  return { path }
}

export function renameFile(project: Project, from: string, to: string): string | null {
  const target = to.trim()
  if (target === from) return null
  const problem = pathProblem(target, paths(project, from))
  if (problem) return problem
  const file = fileByPath(project, from)
  if (!file) return 'That file is gone.'
  file.path = target
  if (project.active === from) project.active = target
  return null
}

export function deleteFile(project: Project, path: string): void {
  const index = project.files.findIndex((f) => f.path === path)
  if (index < 0) return
  project.files.splice(index, 1)
  if (project.files.length === 0) project.files.push({ path: 'main.py', text: '' })
  if (project.active === path) project.active = project.files[Math.max(0, index - 1)]!.path
}

export function setText(project: Project, path: string, text: string): void {
  const file = fileByPath(project, path)
  if (file && !isAsset(file)) file.text = text
}

/** Reads an uploaded image or sound into the project as base64 (replacing a file of the same name). */
export async function uploadAsset(project: Project, upload: File): Promise<string | null> {
  if (upload.size > MAX_ASSET_BYTES) return `${upload.name} is too big (the limit is ${MAX_ASSET_BYTES / 1024 / 1024} MB).`
  const name = upload.name.replace(/[^A-Za-z0-9_.\- ]/g, '_')
  const existing = fileByPath(project, name)
  const problem = pathProblem(name, paths(project, existing?.path))
  if (problem) return problem
  if (!existing && project.files.length >= MAX_FILES) return `A project can have at most ${MAX_FILES} files.`
  const base64 = bytesToBase64(await upload.arrayBuffer())
  const asset = { path: name, base64, mime: upload.type || 'application/octet-stream' }
  if (existing) project.files.splice(project.files.indexOf(existing), 1, asset)
  else project.files.push(asset)
  project.active = name
  return null
}
