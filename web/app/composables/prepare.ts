// Warms this tab's sandbox for the mode the program needs before the student presses Run: on page
// load, then whenever the imports (or the Mode picker) change the mode. The client asks again by
// itself after a reconnect; the scheduler keeps typing from turning into a prepare per keystroke.
import { computed, onBeforeUnmount, onMounted, watch } from 'vue'
import { modeToPrepare } from '~~/lib/mode-detect'
import { PrepareScheduler } from '~~/lib/prepare-scheduler'
import { entryFile, isAsset, type TextFile } from '~~/lib/project'
import type { Project } from './project'
import type { Session } from './session'

export function usePreparedSandbox(session: Session, project: Project): void {
  const wantedMode = computed(() => {
    const sources = project.files.filter((f): f is TextFile => !isAsset(f))
    return modeToPrepare(session.mode.value, entryFile(project.files, project.active), sources)
  })
  const scheduler = new PrepareScheduler((mode) => session.client.prepare(mode))
  watch(wantedMode, (mode) => scheduler.want(mode))
  onMounted(() => scheduler.prepareNow(wantedMode.value))
  onBeforeUnmount(() => scheduler.cancel())
}
