import { AsyncLocalStorage } from 'node:async_hooks'
import { format } from 'node:util'
import type { Logger, LogFields } from '../log.ts'

/**
 * One call of a bot's handler: which bot, which handler, the ids it works on (conversation, message...)
 * and the key of the record that makes it run again after a crash (its pending event, its expired state).
 */
export type HandlerCall = {
  bot: string
  handler: string
  fields: LogFields
  record?: string
  /** Where the bot's console lines go while the call runs (Botpress's logger writes to the console). */
  logger?: Logger
  /** What the bot logged at error level during the call (the SDK logs a throwing handler's error there). */
  errors?: string[]
}

/** How a handler call ended. A timed-out call is abandoned: whatever it does later is logged, never awaited. */
export type Outcome = { status: 'done' } | { status: 'failed'; error: unknown } | { status: 'timedOut' }

/** The handler call each piece of async work belongs to, for every supervisor of the process. */
const calls = new AsyncLocalStorage<HandlerCall>()
let consoleRouted = false

/**
 * Sends the console lines of bot code to the logger of the handler call they come from, with its ids:
 * Botpress's SDK logs through the console, and one process runs many bots. Lines from outside any call
 * pass through. Installed once per process.
 */
export function routeConsole(): void {
  if (consoleRouted) return
  consoleRouted = true
  const levels = { debug: 'debug', log: 'info', info: 'info', warn: 'warn', error: 'error' } as const
  for (const [method, level] of Object.entries(levels) as [keyof typeof levels, (typeof levels)[keyof typeof levels]][]) {
    const plain = console[method].bind(console)
    console[method] = (...args: unknown[]) => {
      const call = calls.getStore()
      if (!call?.logger) return plain(...args)
      const text = format(...args)
      if (level === 'error') call.errors?.push(text)
      const [first, ...rest] = text.split('\n')
      call.logger[level](first!, rest.length > 0 ? { detail: text } : undefined)
    }
  }
}

const DONE: Outcome = { status: 'done' }

/** Botpress Cloud gives a handler 60 s. */
export const DEFAULT_HANDLER_TIMEOUT_MS = 60_000

/**
 * Runs bot handlers so that no bot can stop the others: each call has a time limit, runs in an async
 * context that names it (so an exception it throws later, in a timer or a rejected promise, is traced back
 * to it), and is listed while it runs (the watchdog names the calls in flight when the event loop stalls).
 */
export class Supervisor {
  private readonly context = calls
  private readonly inFlight = new Set<HandlerCall>()
  /** Bot folders, to name the bot of an error thrown outside any handler's context (module-level timers). */
  private readonly dirs = new Map<string, string>()
  private listener: ((calls: HandlerCall[]) => void) | undefined

  constructor(readonly timeoutMs = DEFAULT_HANDLER_TIMEOUT_MS) {
    routeConsole()
  }

  /**
   * Runs one handler call within its time limit. Never throws: the outcome says how it ended. One promise and
   * one timer a call, no async frame: within a call's context every promise costs a hook call.
   */
  run(call: HandlerCall, fn: () => unknown): Promise<Outcome> {
    this.inFlight.add(call)
    this.changed()
    return new Promise<Outcome>((resolve) => {
      let ended = false
      const end = (outcome: Outcome) => {
        if (ended) return
        ended = true
        clearTimeout(limit)
        this.inFlight.delete(call)
        this.changed()
        resolve(outcome)
      }
      const limit = setTimeout(() => end({ status: 'timedOut' }), this.timeoutMs)
      this.context.run(call, () => {
        try {
          Promise.resolve(fn()).then(
            () => end(DONE),
            (error: unknown) => end({ status: 'failed', error }),
          )
        } catch (error) {
          end({ status: 'failed', error })
        }
      })
    })
  }

  /** The handler call whose async context this is, if any. */
  current(): HandlerCall | undefined {
    return this.context.getStore()
  }

  /** The handler calls running now. */
  running(): HandlerCall[] {
    return [...this.inFlight]
  }

  /** Calls `listener` whenever the calls in flight change (the watchdog keeps a copy). */
  onChange(listener: (calls: HandlerCall[]) => void): void {
    this.listener = listener
  }

  /** Records where a bot's files are, to attribute errors by their stack. */
  setBotDir(botId: string, dir: string): void {
    this.dirs.set(botId, dir.endsWith('/') ? dir : dir + '/')
  }

  /**
   * The bot an error raised outside the normal flow belongs to: the handler call whose async context it
   * was raised in, else the bot whose folder appears in its stack.
   */
  attribute(error: unknown): { bot?: string; handler?: string; fields?: LogFields } {
    const call = this.context.getStore()
    if (call) return call
    const stack = error instanceof Error ? (error.stack ?? '') : ''
    for (const [bot, dir] of this.dirs) if (stack.includes(dir)) return { bot }
    return {}
  }

  private changed(): void {
    this.listener?.(this.running())
  }
}
