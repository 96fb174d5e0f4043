import { describe, expect, it } from 'vitest'
import { bytesToBase64, entryFile, freshName, parseSavedFiles, pathProblem, toProgramFiles } from '../lib/project'

describe('project files', () => {
  it('accepts plain names and refuses paths that escape the workspace', () => {
    expect(pathProblem('game.py', [])).toBeNull()
    expect(pathProblem('images/ship.png', [])).toBeNull()
    expect(pathProblem('/etc/passwd', [])).toMatch(/plain name/)
    expect(pathProblem('../x.py', [])).toMatch(/\.\./)
    expect(pathProblem('a//b.py', [])).toMatch(/empty folders/)
    expect(pathProblem('main.py', ['main.py'])).toMatch(/already/)
    expect(pathProblem('  ', [])).toMatch(/name/)
    expect(pathProblem('bad$name.py', [])).toMatch(/letters/)
  })

  it('runs main.py, else the active Python file, else the first one', () => {
    const files = [{ path: 'a.py', text: '' }, { path: 'b.py', text: '' }, { path: 'pic.png', base64: '', mime: 'image/png' }]
    expect(entryFile(files, 'b.py')).toBe('b.py')
    expect(entryFile(files, 'pic.png')).toBe('a.py')
    expect(entryFile([...files, { path: 'main.py', text: '' }], 'b.py')).toBe('main.py')
    expect(entryFile([], null)).toBeNull()
  })

  it('sends text files as text and assets as base64', () => {
    expect(toProgramFiles([{ path: 'main.py', text: 'x' }, { path: 's.wav', base64: 'AAA=', mime: 'audio/wav' }]))
      .toEqual([{ path: 'main.py', text: 'x' }, { path: 's.wav', base64: 'AAA=' }])
  })

  it('names new files without clashes', () => {
    expect(freshName([])).toBe('untitled.py')
    expect(freshName(['untitled.py', 'untitled2.py'])).toBe('untitled3.py')
  })

  it('encodes binary assets as base64', () => {
    const big = new Uint8Array(100_000).map((_, i) => i % 251)
    expect(Buffer.from(bytesToBase64(big.buffer), 'base64').equals(Buffer.from(big))).toBe(true)
  })

  it('restores saved files and ignores junk', () => {
    expect(parseSavedFiles('[{"path":"main.py","text":"print(1)"},{"path":7}]')).toEqual([{ path: 'main.py', text: 'print(1)' }])
    expect(parseSavedFiles('nonsense')).toBeNull()
    expect(parseSavedFiles('[]')).toBeNull()
  })
})
