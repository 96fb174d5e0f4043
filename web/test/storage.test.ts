import { describe, expect, it } from 'vitest'
import { Presence } from '../lib/presence'
import {
  AssetSync, INDEX_KEY, LEGACY_KEY, ProjectLibrary, SaveError, mergeSaved, parseFiles, projectKey, serializeFiles, uniqueName,
  type AssetStore, type KeyValueStore,
} from '../lib/storage'

class MapStore implements KeyValueStore {
  map = new Map<string, string>()
  quota = Infinity
  getItem(key: string) { return this.map.get(key) ?? null }
  setItem(key: string, value: string) {
    if (value.length > this.quota) throw new DOMException('full', 'QuotaExceededError')
    this.map.set(key, value)
  }
  removeItem(key: string) { this.map.delete(key) }
}

class MemoryAssets implements AssetStore {
  map = new Map<string, { bytes: Uint8Array; mime: string }>()
  full = false
  async get(project: string, path: string) { return this.map.get(`${project}/${path}`) ?? null }
  async put(project: string, path: string, bytes: Uint8Array, mime: string) {
    if (this.full) throw new DOMException('full', 'QuotaExceededError')
    this.map.set(`${project}/${path}`, { bytes, mime })
  }
  async remove(project: string, path: string) { this.map.delete(`${project}/${path}`) }
  async removeProject(project: string) { for (const key of [...this.map.keys()]) if (key.startsWith(`${project}/`)) this.map.delete(key) }
}

const png = { path: 'ship.png', base64: 'iVBORw0K', mime: 'image/png' }
let ids = 0
const library = (store = new MapStore(), assets = new MemoryAssets()) => new ProjectLibrary(store, assets, () => 1000, () => `p${++ids}`)

describe('the project library', () => {
  it('keeps code in the key-value store and asset bytes only in the asset store', async () => {
    const store = new MapStore()
    const assets = new MemoryAssets()
    const lib = library(store, assets)
    const { meta, assets: saved } = lib.create('Game', [{ path: 'main.py', text: 'print(1)' }, png], 'pygame-game')
    await saved
    expect(store.getItem(projectKey(meta.id))).not.toContain('iVBORw0K')
    expect(assets.map.get(`${meta.id}/ship.png`)?.mime).toBe('image/png')
    expect(await lib.loadFiles(meta.id)).toEqual([{ path: 'main.py', text: 'print(1)' }, png])
    expect(lib.loadText(meta.id)).toEqual([{ path: 'main.py', text: 'print(1)' }, { ...png, base64: '' }])
    expect(lib.list()).toEqual([{ id: meta.id, name: 'Game', template: 'pygame-game', updated: 1000 }])
  })

  it('names projects uniquely, renames and deletes them with their assets', async () => {
    const assets = new MemoryAssets()
    const lib = library(new MapStore(), assets)
    const a = lib.create('Quiz', [{ path: 'main.py', text: '' }], 'quiz').meta
    const b = lib.create('Quiz', [{ path: 'main.py', text: '' }, png], 'quiz').meta
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(b.name).toBe('Quiz (2)')
    expect(lib.rename(a.id, 'Quiz (2)')).toBe('Quiz (2) (2)')
    expect(lib.rename(a.id, '  My quiz  ')).toBe('My quiz')
    await lib.remove(b.id)
    expect(lib.list().map((p) => p.name)).toEqual(['My quiz'])
    expect(assets.map.size).toBe(0)
    expect(await lib.loadFiles(b.id)).toBeNull()
  })

  it('says so when the browser refuses to save, instead of failing silently', async () => {
    const store = new MapStore()
    const lib = library(store)
    const { meta } = lib.create('Big', [{ path: 'main.py', text: '' }], null)
    store.quota = 10
    expect(() => lib.saveFiles(meta.id, serializeFiles([{ path: 'main.py', text: 'x'.repeat(100) }]))).toThrow(SaveError)
    expect(() => lib.saveFiles(meta.id, serializeFiles([{ path: 'main.py', text: 'x'.repeat(100) }]))).toThrow(/download the project as a \.zip/)
    const assets = new MemoryAssets()
    assets.full = true
    await expect(library(new MapStore(), assets).create('P', [png], null).assets).rejects.toThrow(/ship\.png could not be saved/)
  })

  it('turns the single-project storage of earlier versions into a project, once', async () => {
    const store = new MapStore()
    store.setItem(LEGACY_KEY, JSON.stringify([{ path: 'main.py', text: 'old' }]))
    const lib = library(store)
    await lib.migrateLegacy()
    await lib.migrateLegacy()
    expect(lib.list()).toHaveLength(1)
    expect(await lib.loadFiles(lib.list()[0]!.id)).toEqual([{ path: 'main.py', text: 'old' }])
  })

  it('ignores malformed saved data', () => {
    expect(parseFiles('nonsense')).toBeNull()
    expect(parseFiles(JSON.stringify([{ path: 1 }, { path: 'a.py', text: 'x' }, { path: 'b.png', asset: true, mime: 'image/png' }])))
      .toEqual([{ path: 'a.py', text: 'x' }, { path: 'b.png', asset: true, mime: 'image/png' }])
    const store = new MapStore()
    store.setItem(INDEX_KEY, JSON.stringify([{ id: '../x', name: 'n', updated: 1, template: null }, { id: 'ok', name: 'n', updated: 1, template: null }]))
    expect(library(store).list().map((p) => p.id)).toEqual(['ok'])
    expect(uniqueName('   ', [])).toBe('My project')
  })

  it('syncs assets: writes new or changed bytes once, deletes removed ones', async () => {
    const assets = new MemoryAssets()
    const lib = library(new MapStore(), assets)
    let puts = 0
    const put = assets.put.bind(assets)
    assets.put = async (...args) => { puts += 1; return put(...args) }
    const sync = new AssetSync(lib, 'p')
    await sync.sync([png])
    await sync.sync([png, { path: 'main.py', text: '' }])
    expect(puts).toBe(1)
    await sync.sync([{ ...png, base64: 'AAAA' }])
    expect(puts).toBe(2)
    await sync.sync([{ ...png, path: 'renamed.png', base64: 'AAAA' }])
    expect([...assets.map.keys()]).toEqual(['p/renamed.png'])
  })
})

describe('edits from another tab', () => {
  const mine = [{ path: 'main.py', text: 'a' }, png]

  it('update texts in place when only texts changed, keeping loaded assets', () => {
    const saved = parseFiles(serializeFiles([{ path: 'main.py', text: 'b' }, { ...png, base64: '' }]))!
    expect(mergeSaved(mine, saved)).toEqual({ files: [{ path: 'main.py', text: 'b' }, png], inPlace: true })
  })

  it('replace the files when one was added, renamed or removed; a new asset is a placeholder to load', () => {
    const saved = parseFiles(serializeFiles([png, { path: 'coin.wav', base64: 'x', mime: 'audio/wav' }]))!
    expect(mergeSaved(mine, saved)).toEqual({ files: [png, { path: 'coin.wav', base64: '', mime: 'audio/wav' }], inPlace: false })
  })
})

describe('presence', () => {
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50))

  it('tells each tab when another has the same project open, and when it leaves', async () => {
    const seen = { a: [] as boolean[], b: [] as boolean[] }
    const a = new Presence((v) => seen.a.push(v), 'pyplay.presence.test')
    const b = new Presence((v) => seen.b.push(v), 'pyplay.presence.test')
    a.open('p1')
    b.open('p2')
    await settle()
    expect(seen).toEqual({ a: [], b: [] })
    b.open('p1')
    await settle()
    expect(seen).toEqual({ a: [true], b: [true] })
    b.close()
    await settle()
    expect(seen.a).toEqual([true, false])
    a.close()
  })
})
