// Starter templates: what "New project" offers, three or more per mode.
import type { ProjectFile } from './project'
import * as programs from './examples'
import { coinSoundBase64, playerSpriteBase64 } from './template-assets'

export type TemplateMode = 'python' | 'turtle' | 'pygame'

export interface Template {
  id: string
  mode: TemplateMode
  title: string
  description: string
  files: () => ProjectFile[]
}

const main = (text: string): ProjectFile[] => [{ path: 'main.py', text }]

export const TEMPLATES: readonly Template[] = [
  { id: 'hello', mode: 'python', title: 'Hello rocket', description: 'input() and a loop that prints a rocket', files: () => main(programs.STARTER_PROGRAM) },
  { id: 'quiz', mode: 'python', title: 'Quiz', description: 'asks questions with input() and keeps score', files: () => main(programs.QUIZ_PROGRAM) },
  { id: 'guess', mode: 'python', title: 'Guess the number', description: 'random numbers, while loops, if/else', files: () => main(programs.GUESS_PROGRAM) },
  {
    id: 'multi-file', mode: 'python', title: 'Two files', description: 'main.py imports functions from helpers.py',
    files: () => [{ path: 'main.py', text: programs.MULTI_FILE_MAIN }, { path: 'helpers.py', text: programs.MULTI_FILE_HELPERS }],
  },
  { id: 'turtle-star', mode: 'turtle', title: 'Turtle star', description: 'a colourful drawing with a loop', files: () => main(programs.TURTLE_EXAMPLE) },
  { id: 'turtle-keys', mode: 'turtle', title: 'Etch-a-sketch', description: 'turtle onkey and onclick: draw with the arrow keys', files: () => main(programs.TURTLE_KEYS_PROGRAM) },
  { id: 'turtle-garden', mode: 'turtle', title: 'Flower garden', description: 'functions draw flowers; click to plant more', files: () => main(programs.TURTLE_GARDEN_PROGRAM) },
  {
    id: 'pygame-game', mode: 'pygame', title: 'Coin catcher game', description: 'a sprite, arrow keys, a score, an image and a sound',
    files: () => [
      { path: 'main.py', text: programs.PYGAME_GAME_PROGRAM },
      { path: 'player.png', base64: playerSpriteBase64(), mime: 'image/png' },
      { path: 'coin.wav', base64: coinSoundBase64(), mime: 'audio/wav' },
    ],
  },
  { id: 'pygame-square', mode: 'pygame', title: 'Move a square', description: 'the smallest pygame game loop', files: () => main(programs.PYGAME_EXAMPLE) },
  { id: 'pygame-bounce', mode: 'pygame', title: 'Bouncing balls', description: 'mouse clicks and moving shapes', files: () => main(programs.PYGAME_BOUNCE_PROGRAM) },
]

export const DEFAULT_TEMPLATE = 'hello'

export const templateById = (id: string | null): Template | undefined => TEMPLATES.find((t) => t.id === id)

export const MODE_TITLES: Record<TemplateMode, string> = { python: 'Python (terminal)', turtle: 'Turtle', pygame: 'Pygame' }
