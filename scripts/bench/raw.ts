/**
 * The raw floor of handling one message, shared by the dispatch row and the bare HTTP server: one get
 * (the conversation's counter) and one batch holding the message, the counter and the reply, with the
 * same JSON records (and so the same bytes) localbot stores for them.
 */
import { Level } from 'level'
import { putIndex } from '../../runtime/client/indexing.ts'

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
  /** The n-th index entry of a message, its value empty as localbot's are. */
  entry: (botId: string, n: number, id: string) => `b\u0000${botId}\u0000X\u0000field-${n}\u0000${id}`,
}

/** A message as the dispatch row sends it. */
export type RawInput = { userId: string; conversationId: string; text: string }

/** The keys one message writes without index entries: the message, the counter and the reply. */
export const RECORD_KEYS = 3

/**
 * What a raw program does with one message: read the counter, then write the message, the counter and
 * the reply in one batch, with LevelDB's `sync` (fsync) as asked; `keys` past RECORD_KEYS are index
 * entries, so a batch can hold as many keys as localbot's.
 */
export function rawHandler({ sync, keys: written = RECORD_KEYS }: { sync: boolean; keys?: number }) {
  return async (db: RawDb, botId: string, input: RawInput) => {
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
    const entries = Array.from({ length: Math.max(0, written - RECORD_KEYS) }, (_, n) => putIndex(keys.entry(botId, n, message.id)))
    await db.batch([
      { type: 'put', key: keys.message(botId, message.id), value: JSON.stringify(message) },
      { type: 'put', key: stateKey, value: JSON.stringify(state) },
      { type: 'put', key: keys.message(botId, reply.id), value: JSON.stringify(reply) },
      ...entries,
    ], { sync })
    return { conversationId: input.conversationId, userId: input.userId, message, replies: [reply] }
  }
}

/** `rawHandler` without sync: the dispatch row's baseline and the bare HTTP server's work. */
export const rawHandle = rawHandler({ sync: false })
