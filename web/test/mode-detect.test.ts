import { describe, expect, it } from 'vitest'
import { detectMode, importedModules, modeToPrepare } from '../lib/mode-detect'

const main = (text: string) => [{ path: 'main.py', text }]

describe('importedModules', () => {
  it('reads import and from-import lines the way Python does', () => {
    expect(importedModules('import os, pygame as pg\nfrom turtle import Turtle\n  import a.b\nx = 1; import json')).toEqual(
      ['os', 'pygame', 'turtle', 'a.b', 'json'])
    expect(importedModules('from . import helper, other as o\nfrom .pkg import thing')).toEqual(['helper', 'other', 'pkg', 'thing'])
  })

  it('skips comments and words that only look like imports', () => {
    expect(importedModules('# import pygame\nprint("import")\nimportant = 1\nfromage = 2')).toEqual([])
  })
})

describe('detectMode', () => {
  it('finds pygame and turtle (and turtledemo) in the entry file', () => {
    expect(detectMode('main.py', main('import pygame\n'))).toBe('pygame')
    expect(detectMode('main.py', main('from pygame.locals import *\n'))).toBe('pygame')
    expect(detectMode('main.py', main('from turtle import *\n'))).toBe('turtle')
    expect(detectMode('main.py', main('import turtledemo.clock\n'))).toBe('turtle')
    expect(detectMode('main.py', main('print("hi")\n'))).toBe('python')
  })

  it('gives tkinter and matplotlib programs the Tk display (turtle mode)', () => {
    expect(detectMode('main.py', main('import tkinter as tk\n'))).toBe('turtle')
    expect(detectMode('main.py', main('from tkinter import messagebox\n'))).toBe('turtle')
    expect(detectMode('main.py', main('import matplotlib.pyplot as plt\n'))).toBe('turtle')
  })

  it('prefers pygame over turtle, like the server', () => {
    expect(detectMode('main.py', main('import turtle\nimport pygame\n'))).toBe('pygame')
  })

  it('follows the project modules the entry imports, not files it does not', () => {
    const files = [{ path: 'main.py', text: 'import game' }, { path: 'game.py', text: 'import pygame' }, { path: 'unused.py', text: 'import turtle' }]
    expect(detectMode('main.py', files)).toBe('pygame')
    expect(detectMode('main.py', [{ path: 'main.py', text: 'print(1)' }, files[1]!])).toBe('python')
  })

  it('treats a project file named turtle.py as the project module, not the display one', () => {
    expect(detectMode('main.py', [{ path: 'main.py', text: 'import turtle' }, { path: 'turtle.py', text: 'x = 1' }])).toBe('python')
  })

  it('survives an import cycle and a missing entry', () => {
    expect(detectMode('a.py', [{ path: 'a.py', text: 'import b' }, { path: 'b.py', text: 'import a\nimport turtle' }])).toBe('turtle')
    expect(detectMode(null, main('import pygame'))).toBe('python')
  })
})

describe('modeToPrepare', () => {
  it('uses the picked mode, and detects only for auto', () => {
    expect(modeToPrepare('turtle', 'main.py', main('import pygame'))).toBe('turtle')
    expect(modeToPrepare('auto', 'main.py', main('import pygame'))).toBe('pygame')
  })
})
