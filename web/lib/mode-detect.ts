// Which mode a Run in `auto` will get, guessed in the browser from what the program imports, so
// the IDE can ask the server to warm that sandbox before Run (`prepare`). It mirrors the server's
// proxy/modes.py (entry file plus the project's own modules it imports) with a line-based scan
// instead of a Python parser: a wrong guess only costs a cold start, the server decides for real.
import type { Mode, RunMode } from './protocol'

/** Modules that need a display, and the mode that provides it. */
// The Tk display is turtle mode's: tkinter and matplotlib (TkAgg) programs get it too.
const DISPLAY_MODULES: Readonly<Record<string, RunMode>> = {
  pygame: 'pygame', turtle: 'turtle', turtledemo: 'turtle', tkinter: 'turtle', _tkinter: 'turtle',
  matplotlib: 'turtle', freegames: 'turtle',
}

export interface SourceFile { path: string; text: string }

const IMPORT_LINE = /^\s*import\s+(.+)$/
const FROM_LINE = /^\s*from\s+(\.*)([\w.]*)\s+import\s+(.+)$/
const NAME = /^[A-Za-z_][\w.]*$/

/** Module names one Python source imports, as ast.Import / ast.ImportFrom would give them. */
export function importedModules(source: string): string[] {
  const names = new Set<string>()
  for (const rawLine of source.split(/\r?\n/)) {
    for (const statement of rawLine.replace(/#.*/, '').split(';')) {
      const plain = IMPORT_LINE.exec(statement)
      if (plain) {
        for (const alias of aliasList(plain[1]!)) names.add(alias)
        continue
      }
      const from = FROM_LINE.exec(statement)
      if (!from) continue
      const [, dots, module, imported] = from
      if (module) names.add(module)
      // `from . import helper` (relative): the imported names may be the project's modules.
      if (dots) for (const alias of aliasList(imported!)) names.add(alias)
    }
  }
  return [...names]
}

/** `a, b.c as d` -> ['a', 'b.c']; parentheses of a one-line `from x import (a, b)` are dropped. */
function aliasList(text: string): string[] {
  return text.replace(/[()\\]/g, ' ').split(',')
    .map((part) => part.trim().split(/\s+as\s+/)[0]!.trim())
    .filter((name) => NAME.test(name))
}

/** The project file a module name refers to, or null (then it is the standard library or a package). */
function modulePath(name: string, files: ReadonlyMap<string, string>): string | null {
  const base = name.replaceAll('.', '/')
  for (const candidate of [`${base}.py`, `${base}/__init__.py`]) if (files.has(candidate)) return candidate
  return null
}

/** The mode `auto` picks for this entry file: pygame over turtle over python, like the server. */
export function detectMode(entry: string | null, files: readonly SourceFile[]): RunMode {
  const project = new Map(files.map((f) => [f.path, f.text]))
  const found = new Set<RunMode>()
  const seen = new Set<string>()
  const queue = entry ? [entry] : []
  while (queue.length > 0) {
    const path = queue.pop()!
    const source = project.get(path)
    if (seen.has(path) || source === undefined) continue
    seen.add(path)
    for (const name of importedModules(source)) {
      const top = name.split('.')[0]!
      const display = DISPLAY_MODULES[top]
      // A project's own turtle.py shadows the real one, as it does in Python.
      if (display && !modulePath(top, project)) found.add(display)
      const local = modulePath(name, project) ?? modulePath(top, project)
      if (local) queue.push(local)
    }
  }
  if (found.has('pygame')) return 'pygame'
  if (found.has('turtle')) return 'turtle'
  return 'python'
}

/** The mode to prepare: the one the student picked, or what `auto` would detect. */
export function modeToPrepare(picked: Mode, entry: string | null, files: readonly SourceFile[]): RunMode {
  return picked === 'auto' ? detectMode(entry, files) : picked
}
