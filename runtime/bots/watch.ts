import { watch, type FSWatcher } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { debounceByKey } from '../time/ticker.ts'

const ignored = (name: string) => name === 'node_modules' || name.startsWith('.')

/** A folder's watcher, and which folder it was: an inode is reused at once for a folder made again. */
type Watched = { watcher: FSWatcher; identity: string }

/**
 * Watches a bots folder (or, with `only`, that one bot folder of it) and calls `onChange(botId)` once a bot's
 * files have settled (100 ms after the last change). Every folder is watched on its own: node 20's recursive watch follows files by inode and
 * goes deaf to a file an editor replaced (write to a temp file, rename over), which is how most save.
 * A watcher hears nothing once its folder is deleted, so every change rescans the bot's folders and
 * watches anew those made, made again or moved in since. Dot files, `_` folders and node_modules are not
 * code that runs. `ready` resolves once the folders there at the start are watched.
 */
export function watchBots(botsDir: string, onChange: (botId: string) => void, only?: string): (() => void) & { ready: Promise<void> } {
  const settle = debounceByKey(onChange, 100)
  const watched = new Map<string, Watched>()
  let closed = false

  const unwatch = (dir: string) => {
    for (const [path, { watcher }] of watched)
      if (path === dir || path.startsWith(dir + sep)) {
        watcher.close()
        watched.delete(path)
      }
  }

  /** Watches `dir` and the folders below it, each unless watched already; adds every folder found to `seen`. */
  const walk = async (dir: string, seen: Set<string>): Promise<void> => {
    if (closed) return
    let identity
    try {
      const stats = await stat(dir)
      if (!stats.isDirectory()) return
      identity = `${stats.ino}:${stats.birthtimeMs}`
    } catch {
      return // gone already
    }
    if (watched.get(dir)?.identity !== identity) unwatch(dir)
    if (!watched.has(dir) && !closed) {
      try {
        const watcher = watch(dir, (event, name) => changed(dir, event, name?.toString() ?? null))
        watcher.on('error', () => unwatch(dir))
        watched.set(dir, { watcher, identity })
      } catch {
        return // gone between the two calls
      }
    }
    seen.add(dir)
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
    for (const entry of entries) if (entry.isDirectory() && !ignored(entry.name)) await walk(join(dir, entry.name), seen)
  }

  // Rescans run one at a time, so that one's count of what it saw is not another's half-done work;
  // calls while one waits to start share it.
  let queue = Promise.resolve()
  const waiting = new Map<string, Promise<void>>()
  const rescan = (root: string): Promise<void> => {
    let next = waiting.get(root)
    if (next) return next
    next = queue.then(async () => {
      waiting.delete(root)
      const seen = new Set<string>()
      await walk(root, seen)
      for (const dir of [...watched.keys()]) if ((dir === root || dir.startsWith(root + sep)) && !seen.has(dir)) unwatch(dir)
    })
    waiting.set(root, next)
    queue = next
    return next
  }

  const changed = (dir: string, event: string, name: string | null) => {
    if (closed) return
    const path = name ? join(dir, name) : dir
    const parts = relative(botsDir, path).split(sep)
    const botId = parts[0]
    if (!botId || botId.startsWith('.') || botId.startsWith('_') || parts.some(ignored)) return
    // Made, deleted or moved: a folder at `path` now is another folder, whose watcher the rescan makes.
    if (event === 'rename') unwatch(path)
    void rescan(join(botsDir, botId)).then(() => {
      if (parts.length >= 2 && !closed) settle(botId)
    })
  }

  const ready = rescan(only === undefined ? botsDir : join(botsDir, only))
  const stop = () => {
    closed = true
    settle.cancel()
    for (const { watcher } of watched.values()) watcher.close()
    watched.clear()
  }
  return Object.assign(stop, { ready })
}
