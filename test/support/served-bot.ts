import assert from 'node:assert/strict'
import { Client as BotpressClient, isApiError } from '@botpress/client'
import { startHttp } from '../../runtime/faces/http.ts'
import { testBot, type BotTest } from '../../runtime/testing.ts'

/** A bot under the test harness with localbot's HTTP face in front, and Botpress's own client pointed at it. */
export type ServedBot = { bot: BotTest; url: string; bp: BotpressClient; close(): Promise<void> }

/** Starts `dir` under the harness, its HTTP face on a free loopback port, and @botpress/client talking to it. */
export async function servedBot(dir: string, options: { token?: string } = {}): Promise<ServedBot> {
  const bot = await testBot(dir, { logLevel: 'warn' })
  const face = await startHttp(bot.runtime, { host: '127.0.0.1', port: 0 }, { token: options.token })
  return {
    bot,
    url: face.url,
    bp: new BotpressClient({ apiUrl: face.url, botId: bot.botId, token: options.token ?? 'x' }),
    async close() {
      await face.stop()
      await bot.close()
    },
  }
}

/** Asserts that `promise` rejects with an error of @botpress/client of `errorClass`, whose message names every one of `words`. */
export async function rejectsAs(promise: Promise<unknown>, errorClass: new (...args: never[]) => Error, ...words: string[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isApiError(error), `an API error, not ${String(error)}`)
    assert.ok(error instanceof errorClass, `${error.type}: ${error.message}`)
    for (const word of words) assert.ok(error.message.includes(word), `${JSON.stringify(error.message)} should name ${word}`)
    return true
  })
}
