// The open project's files as reactive state, and what the file tabs do to them. Saving, loading
// and the list of projects are in workspace.ts.
import { pythonFileName } from '~~/lib/file-kinds'
import {
  MAX_ASSET_BYTES, MAX_FILES, bytesToBase64, isAsset, pathProblem, type ProjectFile,
} from '~~/lib/project'

export interface Project {
  /** Key of the project in this browser's storage ('' until one is open). */
  id: string
  name: string
  /** The template it was made from, for "reset to template" (null: uploaded, shared or older). */
  template: string | null
  files: ProjectFile[]
  active: string
}

const paths = (project: Project, except?: string) => project.files.map((f) => f.path).filter((p) => p !== except)

export function fileByPath(project: Project, path: string): ProjectFile | undefined {
  return project.files.find((f) => f.path === path)
}

/** Adds an empty file named as typed (`helper` and `helper.py` both make helper.py): its name, or why not. */
export function addFile(project: Project, typed: string): { path?: string; problem?: string } {
  if (project.files.length >= MAX_FILES) return { problem: `A project can have at most ${MAX_FILES} files.` }
  const path = pythonFileName(typed)
  const problem = pathProblem(path, paths(project))
  if (problem) return { problem }
  project.files.push({ path, text: '' })
  project.active = path
  return { path }
}

export function renameFile(project: Project, from: string, to: string): string | null {
  const file = fileByPath(project, from)
  if (!file) return 'That file is gone.'
  // A Python file stays one when the student types its name without .py.
  const target = !isAsset(file) && from.endsWith('.py') ? pythonFileName(to) : to.trim()
  if (target === from) return null
  const problem = pathProblem(target, paths(project, from))
  if (problem) return problem
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
