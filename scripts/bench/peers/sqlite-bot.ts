/**
 * The SQLite peer: the counter job as a careful better-sqlite3 developer writes it. WAL, prepared
 * statements, one transaction per message (the counter's upsert, the message and its reply);
 * `synchronous=NORMAL` (the WAL is not fsynced at commit: safe from a process crash, not from power
 * loss, as localbot's default store) or `FULL` (fsynced at every commit).
 */
import Database from 'better-sqlite3'
import type { PeerMessage } from './messages.ts'

/** A stored message, as the bot answers it. */
export type SqliteMessage = { id: number; conversationId: string; userId: string; direction: 'incoming' | 'outgoing'; text: string; createdAt: string }

/** What handling one message returns: the shape localbot's `POST /bots/:id/messages` answers. */
export type SqliteHandled = { conversationId: string; userId: string; message: SqliteMessage; replies: SqliteMessage[] }

/** A SQLite counter bot over the database file `file`. */
export function sqliteBot(file: string, { synchronous }: { synchronous: 'NORMAL' | 'FULL' }) {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${synchronous}`)
  db.exec(`
    CREATE TABLE IF NOT EXISTS counters (conversation_id TEXT PRIMARY KEY, count INTEGER NOT NULL, updated_at TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS messages (
      id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL, user_id TEXT NOT NULL,
      direction TEXT NOT NULL, text TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation_id, id);
  `)
  const increment = db.prepare<[{ conversationId: string; now: string }], { count: number }>(
    `INSERT INTO counters (conversation_id, count, updated_at) VALUES (@conversationId, 1, @now)
     ON CONFLICT (conversation_id) DO UPDATE SET count = count + 1, updated_at = @now RETURNING count`,
  )
  const insert = db.prepare<[string, string, string, string, string], never>(
    'INSERT INTO messages (conversation_id, user_id, direction, text, created_at) VALUES (?, ?, ?, ?, ?)',
  )
  const store = (m: Omit<SqliteMessage, 'id'>): SqliteMessage => ({ id: Number(insert.run(m.conversationId, m.userId, m.direction, m.text, m.createdAt).lastInsertRowid), ...m })
  const handle = db.transaction(({ userId, conversationId, text }: PeerMessage): SqliteHandled => {
    const now = new Date().toISOString()
    const { count } = increment.get({ conversationId, now })!
    const message = store({ conversationId, userId, direction: 'incoming', text, createdAt: now })
    const reply = store({ conversationId, userId: 'counter', direction: 'outgoing', text: `#${count} ${text}`, createdAt: now })
    return { conversationId, userId, message, replies: [reply] }
  })
  return { handle: (input: PeerMessage) => handle(input), close: (): void => void db.close() }
}
