// What the terminal asks of the editor: jump to a traceback's file and line, and mark the line
// that failed. Module state, like the theme: one IDE per page.
import { ref, shallowRef } from 'vue'

export interface FileLine { path: string; line: number }

const jump = shallowRef<FileLine | null>(null)
const failing = ref<FileLine | null>(null)

export function useEditorBus() {
  return {
    /** The latest jump asked for (a new object each time, so the same line twice still jumps). */
    jump,
    /** The line of the last run's traceback to mark, or null. */
    failing,
    jumpTo(target: FileLine): void { jump.value = { ...target } },
  }
}
