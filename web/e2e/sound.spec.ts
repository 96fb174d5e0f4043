// Sound: a pygame tone is heard in the page (an AnalyserNode on the IDE's sound output finds
// 440 Hz), the picture still arrives, Stop silences it, and the sound toggle is remembered.
import { expect, test, type Page } from '@playwright/test'
import { canvasColors, openIde, pasteProgram, run } from './ide'

const TONE_GAME = `import array, math
import pygame
pygame.mixer.init(48000, -16, 2, 512)
pygame.init()
screen = pygame.display.set_mode((320, 200))
rate = pygame.mixer.get_init()[0]
wave = array.array('h', [int(12000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(rate) for _ in (0, 1)])
pygame.mixer.Sound(buffer=wave.tobytes()).play(loops=-1)
print("playing", flush=True)
while True:
    for event in pygame.event.get():
        if event.type == pygame.QUIT:
            raise SystemExit
    screen.fill((30, 40, 130))
    pygame.display.flip()
    pygame.time.wait(20)
`
const blue = { name: 'blue', rgb: [30, 40, 130] as [number, number, number], tolerance: 12 }

/** Before the IDE loads: the first gain node made (lib/audio-link.ts's output) gets an analyser. */
async function listenToThePage(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const original = AudioContext.prototype.createGain
    AudioContext.prototype.createGain = function (this: AudioContext) {
      const gain = original.call(this)
      const w = window as unknown as { soundAnalyser?: AnalyserNode }
      if (!w.soundAnalyser) {
        const analyser = this.createAnalyser()
        analyser.fftSize = 8192
        analyser.smoothingTimeConstant = 0   // what plays now, not an average of the last moments
        gain.connect(analyser)
        w.soundAnalyser = analyser
      }
      return gain
    }
  })
}

/** The loudest frequency the page is playing now, and how loud (dB). */
async function loudest(page: Page): Promise<{ hz: number; db: number }> {
  return page.evaluate(() => {
    const analyser = (window as unknown as { soundAnalyser?: AnalyserNode }).soundAnalyser
    if (!analyser) return { hz: 0, db: -Infinity }
    const bins = new Float32Array(analyser.frequencyBinCount)
    analyser.getFloatFrequencyData(bins)
    let best = 0
    for (let i = 1; i < bins.length; i += 1) if (bins[i]! > bins[best]!) best = i
    return { hz: (best * analyser.context.sampleRate) / analyser.fftSize, db: bins[best]! }
  })
}

test('a pygame tone is heard at 440 Hz beside its picture, and Stop silences it', async ({ page }) => {
  await listenToThePage(page)
  await openIde(page)
  await pasteProgram(page, TONE_GAME)
  await run(page)
  await expect(page.getByTestId('terminal')).toContainText('playing', { timeout: 30_000 })
  await expect.poll(async () => (await canvasColors(page, [blue])).blue, { timeout: 30_000 }).toBeGreaterThan(0.5)
  await expect.poll(async () => {
    const { hz, db } = await loudest(page)
    return db > -60 && Math.abs(hz - 440) <= 10
  }, { timeout: 15_000 }).toBe(true)

  await page.getByTestId('stop').click()
  const stoppedAt = Date.now()
  await expect.poll(async () => (await loudest(page)).db, { timeout: 5_000, intervals: [20] }).toBeLessThan(-90)
  console.log(`[sound] Stop -> silence in the page: ${Date.now() - stoppedAt} ms`)
})

test('the sound toggle is remembered and a muted run plays nothing', async ({ page }) => {
  await listenToThePage(page)
  await openIde(page)
  const toggle = page.getByTestId('sound-toggle')
  await expect(toggle).toHaveAttribute('aria-pressed', 'true')
  await toggle.click()
  await expect(toggle).toHaveAttribute('aria-pressed', 'false')
  await page.reload()
  await expect(page.getByTestId('status')).toHaveText(/Ready/, { timeout: 30_000 })
  await expect(page.getByTestId('sound-toggle')).toHaveAttribute('aria-pressed', 'false')
  await pasteProgram(page, TONE_GAME)
  await run(page)
  await expect(page.getByTestId('terminal')).toContainText('playing', { timeout: 30_000 })
  await page.waitForTimeout(1500)   // an observation window: nothing may play while muted
  expect((await loudest(page)).db).toBeLessThan(-90)
  await page.getByTestId('stop').click()
})

test("print('\\a') rings the terminal's bell as a short beep", async ({ page }) => {
  await listenToThePage(page)
  await openIde(page)
  await pasteProgram(page, "import time\nfor _ in range(20):\n    print('\\a', end='', flush=True)\n    time.sleep(0.1)\nprint('rang')\n")
  await run(page)      // the click that lets the page play
  await expect.poll(async () => {
    const { hz, db } = await loudest(page)
    return db > -60 && Math.abs(hz - 880) <= 10
  }, { timeout: 15_000, intervals: [20] }).toBe(true)
  await expect(page.getByTestId('terminal')).toContainText('rang', { timeout: 30_000 })
})
