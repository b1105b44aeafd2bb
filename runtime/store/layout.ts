import { childrenOf, intSegment, key, keyUnder, timeSegment, type Range } from './keys.ts'

/**
 * Where every record and index entry lives. The first segment is a namespace:
 *   b  a bot's data: ['b', botId, kind, ...]
 *   x  the expiry index of states, all bots: ['x', expiresAt, botId, type, id, name]
 *   d  the due index of scheduled events, all bots: ['d', dueAt, botId, eventId]
 * Index entries hold '' (the key says it all); records hold JSON.
 */

/** Index sort fields of conversations. */
export const sortFields = ['createdAt', 'updatedAt'] as const
/** A field lists sort by. */
export type SortField = (typeof sortFields)[number]

/** Each bot's encoded `['b', botId]`, made once: every record key of a message's turn starts with it. */
const botHeads = new Map<string, string>()
const bot = (botId: string, ...rest: string[]) => {
  let head = botHeads.get(botId)
  if (head === undefined) {
    // Bot ids come from folders, but a face may ask for any id: the map stays small.
    if (botHeads.size >= 1024) botHeads.clear()
    botHeads.set(botId, (head = key('b', botId)))
  }
  return keyUnder(head, ...rest)
}
const botRange = (botId: string, ...rest: string[]) => childrenOf('b', botId, ...rest)

/** Every key of one bot. */
export const botData = (botId: string): Range => childrenOf('b', botId)

export const conversations = {
  record: (botId: string, id: string) => bot(botId, 'c', id),
  byTime: (botId: string, field: SortField, at: number, id: string) => bot(botId, 'C', field, timeSegment(at), id),
  byTimeRange: (botId: string, field: SortField) => botRange(botId, 'C', field),
  byTag: (botId: string, name: string, value: string, field: SortField, at: number, id: string) =>
    bot(botId, 'CT', name, value, field, timeSegment(at), id),
  byTagRange: (botId: string, name: string, value: string, field: SortField) => botRange(botId, 'CT', name, value, field),
  byParticipant: (botId: string, userId: string, field: SortField, at: number, id: string) =>
    bot(botId, 'CP', userId, field, timeSegment(at), id),
  byParticipantRange: (botId: string, userId: string, field: SortField) => botRange(botId, 'CP', userId, field),
}

export const participants = {
  /** A user in a conversation, listed by conversation. */
  member: (botId: string, conversationId: string, userId: string) => bot(botId, 'P', conversationId, userId),
  membersRange: (botId: string, conversationId: string) => botRange(botId, 'P', conversationId),
  /** The same membership, listed by user. */
  membership: (botId: string, userId: string, conversationId: string) => bot(botId, 'UP', userId, conversationId),
  membershipsRange: (botId: string, userId: string) => botRange(botId, 'UP', userId),
}

export const users = {
  record: (botId: string, id: string) => bot(botId, 'u', id),
  byTime: (botId: string, at: number, id: string) => bot(botId, 'U', timeSegment(at), id),
  byTimeRange: (botId: string) => botRange(botId, 'U'),
  byTag: (botId: string, name: string, value: string, at: number, id: string) =>
    bot(botId, 'UT', name, value, timeSegment(at), id),
  byTagRange: (botId: string, name: string, value: string) => botRange(botId, 'UT', name, value),
}

export const messages = {
  record: (botId: string, id: string) => bot(botId, 'm', id),
  byTime: (botId: string, at: number, id: string) => bot(botId, 'M', timeSegment(at), id),
  byTimeRange: (botId: string) => botRange(botId, 'M'),
  byConversation: (botId: string, conversationId: string, at: number, id: string) =>
    bot(botId, 'MC', conversationId, timeSegment(at), id),
  byConversationRange: (botId: string, conversationId: string) => botRange(botId, 'MC', conversationId),
  byTag: (botId: string, name: string, value: string, at: number, id: string) =>
    bot(botId, 'MT', name, value, timeSegment(at), id),
  byTagRange: (botId: string, name: string, value: string) => botRange(botId, 'MT', name, value),
  /** Messages a user wrote, for deleteUser's cascade. */
  byUser: (botId: string, userId: string, id: string) => bot(botId, 'MU', userId, id),
  byUserRange: (botId: string, userId: string) => botRange(botId, 'MU', userId),
}

/** Event list filters with an index each. */
export const eventFilters = ['type', 'conversationId', 'userId', 'messageId', 'status'] as const
/** A field listEvents filters on. */
export type EventFilter = (typeof eventFilters)[number]

export const events = {
  record: (botId: string, id: string) => bot(botId, 'e', id),
  byTime: (botId: string, at: number, id: string) => bot(botId, 'E', timeSegment(at), id),
  byTimeRange: (botId: string) => botRange(botId, 'E'),
  byField: (botId: string, field: EventFilter, value: string, at: number, id: string) =>
    bot(botId, 'EF', field, value, timeSegment(at), id),
  byFieldRange: (botId: string, field: EventFilter, value: string) => botRange(botId, 'EF', field, value),
  /** A scheduled event waiting for its time. */
  due: (at: number, botId: string, id: string) => key('d', timeSegment(at), botId, id),
  dueRange: () => childrenOf('d'),
}

export const states = {
  record: (botId: string, type: string, id: string, name: string) => bot(botId, 'S', type, id, name),
  ofOwnerRange: (botId: string, type: string, id: string) => botRange(botId, 'S', type, id),
  /** A state waiting to expire. */
  expiry: (at: number, botId: string, type: string, id: string, name: string) =>
    key('x', timeSegment(at), botId, type, id, name),
  expiryRange: () => childrenOf('x'),
  /**
   * A state that expired and was deleted, kept until its stateExpired handlers have run: a crash in
   * between replays it at the next start (at-least-once).
   */
  expired: (botId: string, type: string, id: string, name: string) => bot(botId, 'SX', type, id, name),
  expiredRange: (botId: string) => botRange(botId, 'SX'),
  expiredOfOwnerRange: (botId: string, type: string, id: string) => botRange(botId, 'SX', type, id),
}

/** Cron schedules, on a database several processes share. */
export const schedules = {
  /** The latest occurrence (ms) of a bot's schedule that a process claimed: each occurrence fires in one process. */
  lastFired: (botId: string, name: string) => bot(botId, 'K', name),
}

/** The fields listFiles sorts by, each with an index. */
export const fileSortFields = ['key', 'size', 'createdAt', 'updatedAt', 'status'] as const
/** A field listFiles sorts by. */
export type FileSortField = (typeof fileSortFields)[number]

export const files = {
  record: (botId: string, id: string) => bot(botId, 'f', id),
  /**
   * A file by one sort field's value (`key`, a time, a size, a status): `['FS', 'key', KEY]` is also how a key
   * finds its file, one per key.
   */
  bySort: (botId: string, field: FileSortField, value: string, id: string) => bot(botId, 'FS', field, value, id),
  bySortRange: (botId: string, field: FileSortField) => botRange(botId, 'FS', field),
  ofSortValueRange: (botId: string, field: FileSortField, value: string) => botRange(botId, 'FS', field, value),
  byTag: (botId: string, name: string, value: string, at: number, id: string) => bot(botId, 'FT', name, value, timeSegment(at), id),
  byTagRange: (botId: string, name: string, value: string) => botRange(botId, 'FT', name, value),
  /** A file's content, in chunks numbered from 0, each base64 text (the store holds strings). */
  chunk: (botId: string, id: string, index: number) => bot(botId, 'FC', id, intSegment(index)),
  chunksRange: (botId: string, id: string) => botRange(botId, 'FC', id),
}

export const tables = {
  /** A table made at run time by getOrCreateTable (the definition's tables are not stored). */
  record: (botId: string, name: string) => bot(botId, 't', name),
  recordsRange: (botId: string) => botRange(botId, 't'),
  /** A row, by its numeric id: a table's rows sort by id. */
  row: (botId: string, table: string, id: number) => bot(botId, 'R', table, intSegment(id, 'row id')),
  rowsRange: (botId: string, table: string) => botRange(botId, 'R', table),
  /** The last row id a table gave out: ids are never given twice, also after deletes. */
  lastRowId: (botId: string, table: string) => bot(botId, 'RN', table),
}
