import { cutText } from './client/common.ts'
import { messageText } from './client/messages.ts'
import type { ActionCall } from './dispatch/actions.ts'
import type { Bus } from './dispatch/bus.ts'
import { mergeFields, type LogFields, type Logger, type LogLevel } from './log.ts'
import { decodeKey } from './store/keys.ts'
import type { Op, Store } from './store/store.ts'
import type { Clock } from './time/clock.ts'

/**
 * What a bot did, in order, for the console and scripts: the messages it got and sent, its events, every
 * change to its states (expiries included), its integration action calls, and its log lines. The latest
 * entries of each bot are kept in memory (`KEPT`) for late listeners; nothing here is stored.
 */

/** What an entry is about. */
export type TimelineKind = 'incoming' | 'reply' | 'event' | 'state' | 'expired' | 'action' | 'log'

/** One thing a bot did: `summary` is a line of text, `data` the record as JSON. */
export type TimelineEntry = {
  /** Increases by one with each entry of the runtime: a listener resumes after the last one it saw. */
  seq: number
  at: string
  botId: string
  kind: TimelineKind
  conversationId?: string
  userId?: string
  /** For a log line: its level. */
  level?: LogLevel
  summary: string
  data: unknown
}

/** Entries kept per bot for listeners that come later. */
const KEPT = 500

/** A summary's longest text. */
const SUMMARY_CHARS = 200

const cut = (text: string) => cutText(text, SUMMARY_CHARS)

/** What an entry says, built only when someone reads it. */
type Content = { kind: TimelineKind; summary: string; data: unknown; conversationId?: string; userId?: string; level?: LogLevel }

/** A kept entry: its order and time now, its content when first read (most entries are never read). */
type Kept = { seq: number; at: number; make: () => Content; entry?: TimelineEntry }

export class Timeline {
  private seq = 0
  private readonly kept = new Map<string, Kept[]>()
  private readonly listeners = new Map<string, Set<(entry: TimelineEntry) => void>>()

  constructor(private readonly options: { bus: Bus; store: Store; clock: Clock }) {
    const { bus } = options
    bus.on('incoming', ({ botId, message }) =>
      this.add(botId, () => ({ kind: 'incoming', summary: `${message.userId}: ${messageText(message, SUMMARY_CHARS)}`, data: message, conversationId: message.conversationId, userId: message.userId })),
    )
    bus.on('reply', ({ botId, message }) => this.add(botId, () => ({ kind: 'reply', summary: `bot: ${messageText(message, SUMMARY_CHARS)}`, data: message, conversationId: message.conversationId })))
    bus.on('event', ({ botId, event }) =>
      this.add(botId, () => ({
        kind: 'event',
        summary: `${event.type} ${event.status}${event.failureReason ? `: ${cut(event.failureReason)}` : ''}`,
        data: event,
        conversationId: event.conversationId ?? undefined,
        userId: event.userId ?? undefined,
      })),
    )
    bus.on('stateExpired', ({ botId, state }) => this.add(botId, () => ({ kind: 'expired', summary: `${state.type} ${state.id} ${state.name} expired`, data: state })))
    bus.on('action', (call: ActionCall) =>
      this.add(call.botId, () => ({
        kind: 'action',
        summary: `${call.type} ${call.error ? `failed: ${cut(call.error)}` : `answered by ${call.answeredBy === 'mock' ? 'its mock' : 'its schema'}`}`,
        data: call,
      })),
    )
    options.store.observe((ops) => this.observeStates(ops))
  }

  /** The kept entries of a bot after `since` (a `seq`), oldest first. */
  entries(botId: string, since = 0): TimelineEntry[] {
    return (this.kept.get(botId) ?? []).slice(-KEPT).filter((kept) => kept.seq > since).map((kept) => this.entryOf(botId, kept))
  }

  /** Calls `listener` with each new entry of a bot; returns a function that stops it. */
  subscribe(botId: string, listener: (entry: TimelineEntry) => void): () => void {
    let set = this.listeners.get(botId)
    if (!set) this.listeners.set(botId, (set = new Set()))
    set.add(listener)
    return () => void set.delete(listener)
  }

  /**
   * A logger that also puts a bot's own lines (its handlers'), its loads and reloads, and every warning and
   * error about a bot (lines with a `bot` field) in its timeline; the runtime's other info lines say what the
   * timeline's own entries say already.
   */
  tap(logger: Logger, fields: LogFields = {}): Logger {
    return new TappedLogger(this, logger, fields)
  }

  /** A line of a tapped logger (see `tap`): in the timeline of its bot when it is about one. */
  logged(level: LogLevel, message: string, more: LogFields | undefined, fields: LogFields): void {
    if (level === 'debug') return
    const bot = more?.bot ?? fields.bot
    if (typeof bot !== 'string') return
    if (level === 'info' && more?.handler === undefined && fields.handler === undefined && !/^bot (loaded|reloaded)$/.test(message)) return
    this.add(bot, () => {
      const all = { ...fields, ...more }
      // A handler's lines carry the id of its message as `message`: kept as `messageId`, not over the line's text.
      const { message: messageId, ...rest } = all
      return {
        kind: 'log',
        summary: cut(message),
        data: { level, message, ...rest, ...(messageId === undefined ? {} : { messageId }) },
        level,
        conversationId: typeof all.conversation === 'string' ? all.conversation : undefined,
        userId: typeof all.user === 'string' ? all.user : undefined,
      }
    })
  }

  /** State records written or deleted: `['b', bot, 'S', type, id, name]`. */
  private observeStates(ops: Op[]): void {
    for (const op of ops) {
      // Most writes are not states: a cheap look first.
      if (!op.key.startsWith('b\u0000') || !op.key.includes('\u0000S\u0000')) continue
      const segments = decodeKey(op.key)
      if (segments[2] !== 'S' || segments.length !== 6) continue
      const [, botId, , type, id, name] = segments as [string, string, string, string, string, string]
      const where = { conversationId: type === 'conversation' ? id : undefined, userId: type === 'user' ? id : undefined }
      if (op.type === 'del') this.add(botId, () => ({ kind: 'state', summary: `${type} ${id} ${name} deleted`, data: { type, id, name, deleted: true }, ...where }))
      else {
        const value = op.value
        this.add(botId, () => {
          let state: Record<string, unknown> = {}
          try {
            state = JSON.parse(value) as Record<string, unknown>
          } catch {
            // Not JSON: shown by its key alone.
          }
          return { kind: 'state', summary: `${type} ${id} ${name} = ${cut(JSON.stringify(state.payload ?? null))}`, data: { ...state, type, id, name }, ...where }
        })
      }
    }
  }

  private add(botId: string, make: () => Content): void {
    const kept: Kept = { seq: ++this.seq, at: this.options.clock.now(), make }
    let list = this.kept.get(botId)
    if (!list) this.kept.set(botId, (list = []))
    list.push(kept)
    if (list.length > KEPT * 2) list.splice(0, list.length - KEPT)
    const listeners = this.listeners.get(botId)
    if (listeners?.size) {
      const entry = this.entryOf(botId, kept)
      for (const listener of listeners) listener(entry)
    }
  }

  private entryOf(botId: string, kept: Kept): TimelineEntry {
    if (kept.entry) return kept.entry
    const { kind, summary, data, conversationId, userId, level } = kept.make()
    const entry: TimelineEntry = { seq: kept.seq, at: new Date(kept.at).toISOString(), botId, kind, summary, data }
    if (conversationId !== undefined) entry.conversationId = conversationId
    if (userId !== undefined) entry.userId = userId
    if (level !== undefined) entry.level = level
    kept.entry = entry
    return entry
  }
}

/** A logger whose lines also go to the timeline (`Timeline.tap`); a class, as a handler call makes a child each. */
class TappedLogger implements Logger {
  constructor(
    private readonly timeline: Timeline,
    private readonly logger: Logger,
    private readonly fields: LogFields,
  ) {}

  debug(message: string, more?: LogFields): void {
    this.logger.debug(message, more)
  }

  info(message: string, more?: LogFields): void {
    this.logger.info(message, more)
    this.timeline.logged('info', message, more, this.fields)
  }

  warn(message: string, more?: LogFields): void {
    this.logger.warn(message, more)
    this.timeline.logged('warn', message, more, this.fields)
  }

  error(message: string, more?: LogFields): void {
    this.logger.error(message, more)
    this.timeline.logged('error', message, more, this.fields)
  }

  child(more: LogFields): Logger {
    return new TappedLogger(this.timeline, this.logger.child(more), mergeFields(this.fields, more))
  }
}
