/**
 * The grammY peer: the counter job as a grammY bot writes it. Its session middleware keeps
 * `{ count }` per chat in LevelDB (level-storage.ts), the handler answers with `ctx.reply` and stores the
 * incoming message and its reply in one batch; the session is written after the handler, as grammY does.
 * The Telegram API is answered in-process: `botInfo` is given, so no getMe, and a transformer answers
 * sendMessage with the message Telegram would return. Nothing is written with `sync`.
 */
import { ClassicLevel } from 'classic-level'
import { Bot, session, type Context, type SessionFlavor } from 'grammy'
import type { Message, UserFromGetMe } from 'grammy/types'
import { levelStorage } from './level-storage.ts'

type Session = { count: number }
type BotContext = Context & SessionFlavor<Session>

const botInfo: UserFromGetMe = {
  id: 1,
  is_bot: true,
  first_name: 'counter',
  username: 'counter_bot',
  can_join_groups: false,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
  has_topics_enabled: false,
  allows_users_to_create_topics: false,
} as UserFromGetMe

/** A grammY counter bot over LevelDB in `location`; `close` closes its database. */
export async function grammyBot(location: string): Promise<{ bot: Bot<BotContext>; close: () => Promise<void> }> {
  const db = new ClassicLevel<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  await db.open()
  const messages = db.sublevel<string, Message>('messages', { valueEncoding: 'json' })
  const bot = new Bot<BotContext>('0:bench', { botInfo })
  let sent = 0
  bot.api.config.use(async (_prev, method, payload) => {
    if (method !== 'sendMessage') throw new Error(`the bench answers sendMessage only, not ${method}`)
    const { chat_id, text } = payload as { chat_id: number; text: string }
    const result: Message.TextMessage = {
      message_id: 1_000_000_000 + ++sent,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chat_id, type: 'private', first_name: 'user' },
      from: botInfo,
      text,
    }
    return { ok: true, result } as never
  })
  bot.use(session({ initial: (): Session => ({ count: 0 }), storage: levelStorage<Session>(db) }))
  bot.on('message:text', async (ctx) => {
    ctx.session.count++
    const reply = await ctx.reply(`#${ctx.session.count} ${ctx.message.text}`)
    const chat = ctx.chat.id
    await messages.batch([
      { type: 'put', key: `${chat}!${ctx.message.message_id}`, value: ctx.message },
      { type: 'put', key: `${chat}!${reply.message_id}`, value: reply },
    ])
  })
  bot.catch((error) => {
    throw error.error
  })
  return { bot, close: () => db.close() }
}
