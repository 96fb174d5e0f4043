// The run's sound in the IDE: one AudioContext per tab, made (or resumed) in a click on Run,
// the sound toggle or the display, since browsers play audio only after a user gesture. The
// choice is remembered; Stop and the run's end cut the sound at once (lib/audio-link.ts).
import { inject, ref, type InjectionKey, type Ref } from 'vue'
import { AudioLink } from '~~/lib/audio-link'
import type { Session } from '~/composables/session'

const STORAGE_KEY = 'pyplay.sound.v1'
const BELL_SECONDS = 0.08

export interface Sound {
  enabled: Ref<boolean>
  /** Call from a user gesture (a click, a key): lets the page play from now on. */
  unlock(): void
  toggle(): void
  /** Stop pressed: silence now, before the program has ended. */
  silence(): void
  /** The terminal's bell (`print('\a')`): a short beep when sound is on. */
  bell(): void
}

export const SoundKey: InjectionKey<Sound> = Symbol('pyplay-sound')

export function createSound(session: Session): Sound {
  const enabled = ref(readChoice())
  let context: AudioContext | null = null
  let link: AudioLink | null = null
  let current: { run: string; url: string } | null = null

  function listen(): void {
    if (enabled.value && link && current && session.client.runId === current.run) link.connect(current.url)
  }
  function unlock(): void {
    if (!enabled.value || typeof AudioContext === 'undefined') return
    context ??= new AudioContext({ latencyHint: 'interactive', sampleRate: 48000 })
    link ??= new AudioLink({ context })
    void context.resume()
  }
  function follow(run: string, audio: string | undefined): void {
    current = audio ? { run, url: session.client.displayUrl(audio) } : null
    if (current) listen()
    else link?.close()
  }
  session.client.on('started', (started) => follow(started.run, started.display?.audio))
  session.client.on('resumed', (resumed) => { if (resumed.display) follow(resumed.run, resumed.display.audio) })
  session.client.on('exit', () => { current = null; link?.close() })

  return {
    enabled,
    unlock,
    toggle(): void {
      enabled.value = !enabled.value
      writeChoice(enabled.value)
      if (enabled.value) { unlock(); listen() } else link?.close()
    },
    silence(): void { link?.close() },
    bell(): void {
      if (!enabled.value || !context || context.state !== 'running') return
      const tone = context.createOscillator()
      tone.frequency.value = 880
      tone.connect(link?.output ?? context.destination)
      tone.start()
      tone.stop(context.currentTime + BELL_SECONDS)
    },
  }
}

function readChoice(): boolean {
  try { return localStorage.getItem(STORAGE_KEY) !== 'off' } catch { return true }
}

function writeChoice(on: boolean): void {
  try { localStorage.setItem(STORAGE_KEY, on ? 'on' : 'off') } catch { /* private mode: not remembered */ }
}

export function useSound(): Sound {
  const sound = inject(SoundKey)
  if (!sound) throw new Error('useSound() outside the IDE: provide(SoundKey, createSound(...)) first')
  return sound
}
