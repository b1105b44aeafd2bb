import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { watchBots } from '../runtime/bots/watch.ts'

/** Generous: file events come in milliseconds, then the watcher lets changes settle for 100 ms. */
const PATIENCE_MS = 10_000

/**
 * Watches a bots folder holding `echo/src/index.ts`. Each call of the watcher's callback records the file
 * as it reads then; `reloadShowing(text)` resolves at the first call that read `text`.
 */
async function watchedBots() {
  const botsDir = await mkdtemp(join(tmpdir(), 'localbot-watch-'))
  const src = join(botsDir, 'echo', 'src')
  const file = join(src, 'index.ts')
  await mkdir(src, { recursive: true })
  await writeFile(file, 'v1')
  const seen: { botId: string; text: string | undefined }[] = []
  const waiters: (() => void)[] = []
  const stop = watchBots(botsDir, (botId) => {
    let text: string | undefined
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      text = undefined
    }
    seen.push({ botId, text })
    for (const wake of waiters.splice(0)) wake()
  })
  await stop.ready
  const reloadShowing = (text: string | undefined) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reload of echo showing ${JSON.stringify(text)} within ${PATIENCE_MS} ms`)), PATIENCE_MS)
      const check = () => {
        if (seen.some((s) => s.botId === 'echo' && s.text === text)) {
          clearTimeout(timer)
          resolve()
        } else waiters.push(check)
      }
      check()
    })
  const close = async () => {
    stop()
    await rm(botsDir, { recursive: true, force: true })
  }
  return { src, file, reloadShowing, close }
}

describe('watching bot folders', () => {
  it('a src/ folder deleted and made again is watched again: an edit of its file reloads the bot', async () => {
    const t = await watchedBots()
    try {
      await rm(t.src, { recursive: true })
      await t.reloadShowing(undefined)

      await mkdir(t.src)
      await writeFile(t.file, 'v2')
      await t.reloadShowing('v2')

      await writeFile(t.file, 'v3')
      await t.reloadShowing('v3')
    } finally {
      await t.close()
    }
  })
})
