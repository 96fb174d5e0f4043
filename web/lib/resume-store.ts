// Where the live run's resume token waits out a page reload. `PyplayClient` saves the `started`
// of each resumable run here and clears it at the run's `exit` (or a `gone`); a page that loads
// with one saved resumes that run instead of losing it. sessionStorage is per tab and survives a
// reload, so two tabs never resume each other's run (a duplicated tab copies it: the later resume
// takes the run over, as a second device would).
import { parseServerMessage, type StartedMessage } from './protocol'

export interface ResumeStore {
  save(started: StartedMessage): void
  /** The saved run, or null (none saved, or what was saved cannot be read). */
  load(): StartedMessage | null
  clear(): void
}

/** The subset of the Web Storage API the store uses (sessionStorage, or a Map-backed one in tests). */
export interface StorageLike {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

export const RESUME_KEY = 'pyplay.resume'

/** A ResumeStore in `storage` (default: this tab's sessionStorage; none there: keeps nothing). */
export function sessionResumeStore(storage: StorageLike | null = defaultStorage(), key: string = RESUME_KEY): ResumeStore {
  return {
    save(started) {
      try { storage?.setItem(key, JSON.stringify(started)) } catch { /* full or disabled: a reload then loses the run, as before */ }
    },
    load() {
      try { return parseSaved(storage?.getItem(key) ?? null) } catch { return null }
    },
    clear() {
      try { storage?.removeItem(key) } catch { /* disabled storage holds nothing to clear */ }
    },
  }
}

/** What was saved, read like the server's message: the page's storage is anyone's to edit. */
function parseSaved(text: string | null): StartedMessage | null {
  if (!text) return null
  const message = parseServerMessage(text)
  return message?.type === 'started' && message.resume ? message : null
}

function defaultStorage(): StorageLike | null {
  try { return (globalThis as { sessionStorage?: StorageLike }).sessionStorage ?? null } catch { return null }
}
