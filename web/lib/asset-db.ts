// The AssetStore of lib/storage.ts in IndexedDB: one object store keyed by [project, path].
import type { AssetStore } from './storage'

const DB_NAME = 'pyplay'
const STORE = 'assets'

interface AssetRecord { project: string; path: string; mime: string; bytes: Uint8Array }

const done = <T>(request: IDBRequest<T>): Promise<T> => new Promise((resolve, reject) => {
  request.onsuccess = () => resolve(request.result)
  request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'))
})

const committed = (tx: IDBTransaction): Promise<void> => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve()
  tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'))
  tx.onabort = () => reject(tx.error ?? new DOMException('IndexedDB transaction aborted', 'AbortError'))
})

export class IndexedDbAssetStore implements AssetStore {
  private db: Promise<IDBDatabase> | null = null

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1)
      request.onupgradeneeded = () => {
        request.result.createObjectStore(STORE, { keyPath: ['project', 'path'] }).createIndex('project', 'project')
      }
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => { this.db = null; reject(request.error ?? new Error('IndexedDB is not available')) }
    })
    return this.db
  }

  private async tx(mode: IDBTransactionMode): Promise<IDBTransaction> {
    return (await this.open()).transaction(STORE, mode)
  }

  async get(project: string, path: string): Promise<{ bytes: Uint8Array; mime: string } | null> {
    const record = await done((await this.tx('readonly')).objectStore(STORE).get([project, path])) as AssetRecord | undefined
    return record ? { bytes: record.bytes, mime: record.mime } : null
  }

  async put(project: string, path: string, bytes: Uint8Array, mime: string): Promise<void> {
    const tx = await this.tx('readwrite')
    tx.objectStore(STORE).put({ project, path, mime, bytes } satisfies AssetRecord)
    await committed(tx)
  }

  async remove(project: string, path: string): Promise<void> {
    const tx = await this.tx('readwrite')
    tx.objectStore(STORE).delete([project, path])
    await committed(tx)
  }

  async removeProject(project: string): Promise<void> {
    const tx = await this.tx('readwrite')
    const store = tx.objectStore(STORE)
    const keys = await done(store.index('project').getAllKeys(project))
    for (const key of keys) store.delete(key)
    await committed(tx)
  }
}
