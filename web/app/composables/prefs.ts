// The student's editor and terminal preferences, remembered in this browser.
import { reactive, watch } from 'vue'

export interface Prefs {
  terminalFontSize: number
  /** xterm's screen reader mode: output is mirrored into an accessible live region. */
  screenReader: boolean
  lineWrap: boolean
}

const STORAGE_KEY = 'pyplay.prefs.v1'
export const FONT_SIZES = { min: 10, max: 28, step: 2, default: 14 } as const
const DEFAULTS: Prefs = { terminalFontSize: FONT_SIZES.default, screenReader: false, lineWrap: false }

const prefs = reactive<Prefs>({ ...DEFAULTS })
let started = false

function restore(raw: string | null): Prefs {
  try {
    const saved = JSON.parse(raw ?? '{}') as Partial<Prefs>
    const size = Number(saved.terminalFontSize)
    return {
      terminalFontSize: Number.isFinite(size) ? Math.min(FONT_SIZES.max, Math.max(FONT_SIZES.min, size)) : DEFAULTS.terminalFontSize,
      screenReader: saved.screenReader === true,
      lineWrap: saved.lineWrap === true,
    }
  } catch {
    return { ...DEFAULTS }
  }
}

export function usePrefs(): Prefs {
  if (!started && import.meta.client) {
    started = true
    Object.assign(prefs, restore(localStorage.getItem(STORAGE_KEY)))
    watch(prefs, (value) => {
      try { localStorage.setItem(STORAGE_KEY, JSON.stringify(value)) } catch { /* a preference is not worth an error */ }
    })
  }
  return prefs
}
