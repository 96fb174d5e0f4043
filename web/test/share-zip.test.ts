import { describe, expect, it } from 'vitest'
import { deflateSync, strToU8, zipSync } from 'fflate'
import { toBase64Url } from '../lib/bytes'
import { MAX_SHARE_CHARS, ShareError, decodeShare, encodeShare, shareLink, sharedProjectIn } from '../lib/share'
import { MAX_UNZIPPED_BYTES, ZipError, projectToZip, zipToFiles } from '../lib/zip'
import { playerSpriteBase64 } from '../lib/template-assets'
import type { ProjectFile } from '../lib/project'

const project: ProjectFile[] = [
  { path: 'main.py', text: 'import pygame\nprint("héllo ✓")\n' },
  { path: 'helpers.py', text: 'X = 1\n' },
  { path: 'player.png', base64: playerSpriteBase64(), mime: 'image/png' },
]

describe('share links', () => {
  it('round-trip a project with an image through the URL fragment', () => {
    const link = shareLink('http://127.0.0.1:3000/?x=1#old', { name: 'My game', files: project })
    if (!('url' in link)) throw new Error('too long')
    const url = new URL(link.url)
    expect(url.search).toBe('?x=1')
    expect(sharedProjectIn(url.hash)).toEqual({ name: 'My game', files: project, problems: [] })
    expect(sharedProjectIn('#something-else')).toBeNull()
  })

  it('refuse a project too big for a link, saying how long it would be', () => {
    let seed = 1
    const noise = Array.from({ length: 40_000 }, () => String.fromCharCode(33 + ((seed = (seed * 48271) % 2147483647) % 90))).join('')
    const link = shareLink('http://h/', { name: 'big', files: [{ path: 'main.py', text: noise }] })
    expect('tooLong' in link && link.tooLong > MAX_SHARE_CHARS).toBe(true)
  })

  it('refuse damaged, cut, hostile or foreign links with words for the student', () => {
    const good = encodeShare({ name: 'p', files: project })
    expect(() => decodeShare(good.slice(0, good.length / 2))).toThrow(ShareError)
    expect(() => decodeShare('!!!')).toThrow(/damaged/)
    expect(() => decodeShare(toBase64Url(deflateSync(strToU8('{"hello":1}'))))).toThrow(/not a pyplay project/)
    const bomb = toBase64Url(deflateSync(new Uint8Array(64 * 1024 * 1024), { level: 9 }))
    expect(() => decodeShare(bomb)).toThrow(/more than a project may hold/)
    const escaping = encodeShare({ name: 'p', files: [{ path: '../../etc/passwd', text: 'x' }, { path: 'ok.py', text: '' }] })
    const odd = decodeShare(encodeShare({ name: 'p', files: [{ path: 'a.png', base64: 'AA==', mime: 'text/html;x="<script>"' }] }))
    expect(odd.files).toEqual([{ path: 'a.png', base64: 'AA==', mime: 'application/octet-stream' }])
    const decoded = decodeShare(escaping)
    expect(decoded.files.map((f) => f.path)).toEqual(['ok.py'])
    expect(decoded.problems[0]).toMatch(/\.\./)
  })
})

describe('.zip download and upload', () => {
  it('round-trips text and binary files', () => {
    expect(zipToFiles(projectToZip(project))).toEqual({ files: project, problems: [] })
  })

  it('takes a zipped folder (files at its top) and skips archivers\' own files', () => {
    const zip = zipSync({ 'game/main.py': strToU8('print(1)'), 'game/ship.png': new Uint8Array([1, 2]), '__MACOSX/game/._main.py': new Uint8Array([0]) })
    expect(zipToFiles(zip)).toEqual({ files: [{ path: 'main.py', text: 'print(1)' }, { path: 'ship.png', base64: 'AQI=', mime: 'image/png' }], problems: [] })
  })

  it('refuses what is not a zip, and a zip that unpacks too big before inflating it', () => {
    expect(() => zipToFiles(strToU8('print(1)'))).toThrow(ZipError)
    const bomb = zipSync({ 'a.txt': new Uint8Array(MAX_UNZIPPED_BYTES + 1) }, { level: 9 })
    expect(bomb.length).toBeLessThan(100_000)
    expect(() => zipToFiles(bomb)).toThrow(/too big/)
  })

  it('keeps bad names out and says why; a .py that is not UTF-8 comes in as bytes', () => {
    const zip = zipSync({ 'ok.py': strToU8(''), 'bad$name.py': strToU8(''), 'latin.py': new Uint8Array([0xe9]) })
    const { files, problems } = zipToFiles(zip)
    expect(files.map((f) => f.path)).toEqual(['ok.py', 'latin.py'])
    expect('base64' in files[1]!).toBe(true)
    expect(problems).toEqual([expect.stringMatching(/bad\$name\.py: Use letters/)])
  })
})
