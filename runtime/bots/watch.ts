import { watch } from 'node:fs'
import { sep } from 'node:path'
import { debounceByKey } from '../time/ticker.ts'

/**
 * Watches a bots folder and calls `onChange(botId)` once a bot's files have settled (100 ms after the
 * last change). Dot files, `_` folders and node_modules are not code that runs.
 */
export function watchBots(botsDir: string, onChange: (botId: string) => void): () => void {
  const settle = debounceByKey(onChange, 100)
  const watcher = watch(botsDir, { recursive: true }, (_event, filename) => {
    if (!filename) return
    const parts = filename.toString().split(sep)
    const botId = parts[0]!
    if (parts.length < 2 || botId.startsWith('.') || botId.startsWith('_')) return
    if (parts.some((p) => p === 'node_modules' || p.startsWith('.'))) return
    settle(botId)
  })
  return () => {
    settle.cancel()
    watcher.close()
  }
}
