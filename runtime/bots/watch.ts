import { watch, type FSWatcher } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { debounceByKey } from '../time/ticker.ts'

const ignored = (name: string) => name === 'node_modules' || name.startsWith('.')

/**
 * Watches a bots folder and calls `onChange(botId)` once a bot's files have settled (100 ms after the
 * last change). Every folder is watched on its own: node 20's recursive watch follows files by inode and
 * goes deaf to a file an editor replaced (write to a temp file, rename over), which is how most save.
 * Dot files, `_` folders and node_modules are not code that runs.
 */
export function watchBots(botsDir: string, onChange: (botId: string) => void): () => void {
  const settle = debounceByKey(onChange, 100)
  const watchers = new Map<string, FSWatcher>()
  let closed = false

  const changed = (dir: string, name: string | null) => {
    if (closed) return
    const path = name ? join(dir, name) : dir
    const parts = relative(botsDir, path).split(sep)
    const botId = parts[0]
    if (!botId || botId.startsWith('.') || botId.startsWith('_') || parts.some(ignored)) return
    // A folder that appeared (a new bot, a new src/) is watched from now on.
    void watchTree(path)
    if (parts.length >= 2) settle(botId)
  }

  const watchTree = async (dir: string): Promise<void> => {
    if (closed || watchers.has(dir)) return
    let entries
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch {
      return // a file, or gone already
    }
    if (closed || watchers.has(dir)) return
    const watcher = watch(dir, (_event, name) => changed(dir, name?.toString() ?? null))
    watcher.on('error', () => {
      watcher.close()
      watchers.delete(dir)
    })
    watchers.set(dir, watcher)
    for (const entry of entries) if (entry.isDirectory() && !ignored(entry.name)) await watchTree(join(dir, entry.name))
  }

  void watchTree(botsDir)
  return () => {
    closed = true
    settle.cancel()
    for (const watcher of watchers.values()) watcher.close()
    watchers.clear()
  }
}
