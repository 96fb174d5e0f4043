import { describe, expect, it } from 'vitest'
import { unzlibSync } from 'fflate'
import { TEMPLATES } from '../lib/templates'
import { coinSound, playerSprite } from '../lib/template-assets'
import { detectMode } from '../lib/mode-detect'
import { isAsset, type TextFile } from '../lib/project'
import { failingFrame, framesIn, OutputTail } from '../lib/traceback'
import { pythonFileName } from '../lib/file-kinds'

describe('templates', () => {
  it('offer at least three per mode, and auto picks the mode each is listed under', () => {
    for (const mode of ['python', 'turtle', 'pygame'] as const) {
      const ofMode = TEMPLATES.filter((t) => t.mode === mode)
      expect(ofMode.length).toBeGreaterThanOrEqual(3)
      for (const template of ofMode) {
        const files = template.files()
        expect(detectMode('main.py', files.filter((f): f is TextFile => !isAsset(f))), template.id).toBe(mode)
      }
    }
    expect(new Set(TEMPLATES.map((t) => t.id)).size).toBe(TEMPLATES.length)
  })

  it('makes a real PNG and WAV for the game template', () => {
    const image = playerSprite()
    expect([...image.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG')
    const view = new DataView(image.buffer)
    expect([view.getUint32(16), view.getUint32(20)]).toEqual([40, 40])
    const idatLength = view.getUint32(33)
    expect(unzlibSync(image.subarray(41, 41 + idatLength)).length).toBe(40 * (1 + 40 * 4))
    const sound = coinSound()
    expect(String.fromCharCode(...sound.subarray(8, 12))).toBe('WAVE')
    expect(sound.length).toBeLessThan(2000)
  })
})

describe('tracebacks', () => {
  const paths = ['main.py', 'helpers.py']
  const traceback = 'Traceback (most recent call last):\r\n  File "/workspace/main.py", line 3, in <module>\r\n    go()\r\n' +
    '  File "/workspace/helpers.py", line 7, in go\r\n    1 / 0\r\n  File "/usr/lib/python3.10/x.py", line 1\r\nZeroDivisionError: division by zero\r\n'

  it('finds the frames that name project files, with their columns', () => {
    expect(framesIn('  File "/workspace/main.py", line 3, in <module>', paths)).toEqual([{ path: 'main.py', line: 3, start: 2, end: 35 }])
    expect(framesIn('  File "/usr/lib/python3.10/runpy.py", line 3', paths)).toEqual([])
  })

  it('marks the innermost project frame of the last traceback', () => {
    expect(failingFrame('old\r\n' + traceback, paths)).toMatchObject({ path: 'helpers.py', line: 7 })
    expect(failingFrame('  File "/workspace/main.py", line 2\r\n    print(\r\nSyntaxError: x', paths)).toMatchObject({ path: 'main.py', line: 2 })
    expect(failingFrame('all fine', paths)).toBeNull()
  })

  it('keeps a bounded tail of the output, decoding characters split across chunks', () => {
    const tail = new OutputTail(10)
    const bytes = new TextEncoder().encode('ééééé-0123456789')
    tail.push(bytes.subarray(0, 3))
    tail.push(bytes.subarray(3))
    expect(tail.value()).toBe('0123456789')
  })
})

describe('new file names', () => {
  it('make helper and helper.py both helper.py', () => {
    expect(pythonFileName('helper')).toBe('helper.py')
    expect(pythonFileName(' helper.py ')).toBe('helper.py')
    expect(pythonFileName('helper.py.py')).toBe('helper.py')
    expect(pythonFileName('data.txt')).toBe('data.txt')
    expect(pythonFileName('')).toBe('')
  })
})
