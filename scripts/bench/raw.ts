/**
 * The raw floor of handling one message, shared by the dispatch row and the bare HTTP server: one get
 * (the conversation's counter) and one batch holding the message, the counter and the reply, with the
 * same JSON records (and so the same bytes) localbot stores for them.
 */
import { Level } from 'level'

/** A LevelDB opened as localbot opens its store: utf8 keys and values. */
export type RawDb = Level<string, string>

/** Opens a LevelDB folder as localbot does. */
export async function openRaw(location: string): Promise<RawDb> {
  const db = new Level<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  await db.open()
  return db
}

let serial = 0
/** An id as long as localbot's (`msg_` + 26 characters). */
function rawId(prefix: string): string {
  return `${prefix}_${String(++serial).padStart(26, '0')}`
}

/** The same key shapes as runtime/store/layout.ts, written out by hand as a raw program would. */
const keys = {
  state: (botId: string, conversationId: string) => `b\u0000${botId}\u0000S\u0000conversation\u0000${conversationId}\u0000counter`,
  message: (botId: string, id: string) => `b\u0000${botId}\u0000m\u0000${id}`,
}

/** One message: read the counter, then write the message, the counter and the reply in one batch. */
export async function rawHandle(db: RawDb, botId: string, input: { userId: string; conversationId: string; text: string }) {
  const stateKey = keys.state(botId, input.conversationId)
  const stored = await db.get(stateKey)
  const count = stored === undefined ? 1 : (JSON.parse(stored) as { payload: { count: number } }).payload.count + 1
  const now = new Date().toISOString()
  const message = {
    id: rawId('msg'),
    createdAt: now,
    updatedAt: now,
    type: 'text',
    payload: { text: input.text },
    direction: 'incoming',
    userId: input.userId,
    conversationId: input.conversationId,
    tags: {},
  }
  const reply = { ...message, id: rawId('msg'), payload: { text: `#${count} ${input.text}` }, direction: 'outgoing', userId: botId }
  const state = { id: input.conversationId, type: 'conversation', name: 'counter', payload: { count }, createdAt: now, updatedAt: now }
  await db.batch([
    { type: 'put', key: keys.message(botId, message.id), value: JSON.stringify(message) },
    { type: 'put', key: stateKey, value: JSON.stringify(state) },
    { type: 'put', key: keys.message(botId, reply.id), value: JSON.stringify(reply) },
  ])
  return { conversationId: input.conversationId, userId: input.userId, message, replies: [reply] }
}
