/**
 * A grammY session storage adapter over classic-level, as a grammY developer would write it (no
 * published adapter for LevelDB is kept): one JSON value per session key, written without `sync`.
 */
import type { StorageAdapter } from 'grammy'
import type { ClassicLevel } from 'classic-level'

/** Sessions kept in the `sessions` sublevel of `db`, as JSON. */
export function levelStorage<T>(db: ClassicLevel<string, string>): StorageAdapter<T> {
  const sessions = db.sublevel<string, T>('sessions', { valueEncoding: 'json' })
  return {
    read: (key) => sessions.get(key),
    write: (key, value) => sessions.put(key, value),
    delete: (key) => sessions.del(key),
  }
}
