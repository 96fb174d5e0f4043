// Light or dark, following the device until the student picks one.
import { ref, watch, type Ref } from 'vue'

export type Theme = 'light' | 'dark'
const STORAGE_KEY = 'pyplay.theme'

const theme: Ref<Theme> = ref('dark')
let started = false

export function useTheme(): Ref<Theme> {
  if (!started && import.meta.client) {
    started = true
    const saved = localStorage.getItem(STORAGE_KEY)
    const prefersLight = window.matchMedia?.('(prefers-color-scheme: light)').matches
    theme.value = saved === 'light' || saved === 'dark' ? saved : prefersLight ? 'light' : 'dark'
    document.documentElement.dataset.theme = theme.value
    watch(theme, (value) => {
      document.documentElement.dataset.theme = value
      localStorage.setItem(STORAGE_KEY, value)
    })
  }
  return theme
}
