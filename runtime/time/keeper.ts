import type { DueExpiry } from '../client/index.ts'
import type { RecurringEvent } from '../bots/loader.ts'
import { decodeKey, key, parseTimeSegment, timeSegment, type Range } from '../store/keys.ts'
import * as layout from '../store/layout.ts'
import { workflowKeys } from '../client/workflows.ts'
import type { Op, Store } from '../store/store.ts'
import type { Logger } from '../log.ts'
import type { Clock, VirtualClock } from './clock.ts'
import { Cron } from './cron.ts'
import { startTicker } from './ticker.ts'
import { TimerWheel } from './wheel.ts'

/** What the keeper calls when something is due (the dispatcher implements it). */
export type DueWork = {
  /** Some of a bot's states' expiry times have come. */
  expire(botId: string, due: DueExpiry[]): Promise<void>
  /** A scheduled event's time has come. */
  releaseEvent(botId: string, eventId: string, at: number): Promise<void>
  /** An unfinished workflow's `timeoutAt` has come. */
  timeOutWorkflow(botId: string, workflowId: string, at: number): Promise<void>
  /** A cron schedule fired; with `claim`, its event is stored only if the claim takes it (see CronClaim). */
  fireCron(botId: string, type: string, payload: Record<string, unknown>, claim?: CronClaim): Promise<void>
  /** Whether a bot is running. */
  has(botId: string): boolean
}

/**
 * Claims a cron occurrence for this process on a database other processes share: writes `eventOps` (the
 * occurrence's event) with the claim in one batch and resolves true, or resolves false (another process
 * claimed it first) having written nothing.
 */
export type CronClaim = (eventOps: Op[]) => Promise<boolean>

/** Pieces of one bot's due work run at once. */
const CONCURRENCY = 16
/** Expiries of one bot taken in one read and one batch. */
const EXPIRY_CHUNK = 256

/** One index the keeper feeds into the wheel: everything in it due before `loadedUntil` is in the wheel. */
type Source = { namespace: 'x' | 'd' | 'w'; range: Range; loadedUntil: number }

type Schedule = { botId: string; name: string; type: string; payload: Record<string, unknown>; cron: Cron; next?: number }

/** Options of the keeper. */
export type KeeperOptions = {
  store: Store
  clock: Clock
  work: DueWork
  logger: Logger
  /** Most entries held in memory; the rest wait in the store's indexes. */
  capacity?: number
  tickMs?: number
  slots?: number
}

/**
 * Fires what is due: state expiries (the store's expiry index), scheduled events (the due index) and
 * cron schedules, all against the one clock. Only the near future is in memory (a timer wheel, at most
 * `capacity` entries); the indexes are read in time order to refill it.
 */
export class TimeKeeper {
  private readonly wheel: TimerWheel
  private readonly sources: Source[]
  private readonly schedules = new Map<string, Schedule>()
  private readonly capacity: number
  private serial: Promise<unknown> = Promise.resolve()
  /** Due work started on the real clock and not yet finished, by bot (CONCURRENCY at a time each). */
  private readonly lanes = new Map<string, { running: number; queue: (() => void)[] }>()
  private readonly started = new Set<Promise<void>>()
  private stopping = false
  private stopTicker?: () => void
  private unobserve?: () => void

  constructor(private readonly options: KeeperOptions) {
    this.capacity = options.capacity ?? 20_000
    this.wheel = new TimerWheel(options.clock.now(), options.tickMs ?? 1000, options.slots ?? 4096)
    this.sources = [
      { namespace: 'x', range: layout.states.expiryRange(), loadedUntil: 0 },
      { namespace: 'd', range: layout.events.dueRange(), loadedUntil: 0 },
      { namespace: 'w', range: workflowKeys.timeoutRange(), loadedUntil: 0 },
    ]
  }

  /** Entries waiting in memory. */
  get inMemory(): number {
    return this.wheel.count
  }

  /** Starts watching the store's writes and loads the near future (and everything overdue). */
  async start(): Promise<void> {
    this.unobserve = this.options.store.observe((ops) => this.observe(ops))
    await this.refill()
  }

  /** With the real clock: checks for due work every `everyMs` ms. */
  startTicking(everyMs = 100): void {
    this.stopTicker = startTicker(() => this.tick(), everyMs)
  }

  /** Stops ticking and watching; resolves once the work under way has finished (handlers have time limits). */
  async stop(): Promise<void> {
    this.stopTicker?.()
    this.unobserve?.()
    await this.serial
    // Work still queued is not started: its index entries stay, so it fires at the next start.
    this.stopping = true
    while (this.started.size > 0) await Promise.allSettled([...this.started])
  }

  /**
   * A bot started running after the others (a reload fixed it): its overdue expiries and events, passed
   * over while it was absent, are read again from the indexes.
   */
  botArrived(): void {
    for (const source of this.sources) source.loadedUntil = 0
  }

  /** Replaces a bot's cron schedules (a reload must not double them). */
  setSchedules(botId: string, recurring: Record<string, RecurringEvent>): void {
    for (const [id, schedule] of this.schedules) if (schedule.botId === botId) this.schedules.delete(id)
    const now = this.options.clock.now()
    for (const [name, event] of Object.entries(recurring)) {
      try {
        const cron = new Cron(event.schedule.cron)
        this.schedules.set(`${botId}\u0000${name}`, { botId, name, type: event.type, payload: event.payload ?? {}, cron, next: cron.nextAfter(now) })
      } catch (error) {
        this.options.logger.error('schedule ignored', { bot: botId, schedule: name, error: (error as Error).message })
      }
    }
  }

  /**
   * Fires everything due by now (real clock). It starts the due work and returns: handlers never hold up
   * the clock, and one bot's slow handlers never delay another bot's expiries.
   */
  tick(): Promise<void> {
    return this.exclusive(async () => {
      await this.refill()
      await this.fireDue(this.options.clock.now(), false)
    })
  }

  /**
   * Moves a virtual clock forward by `ms`, firing everything due on the way in time order, each at its
   * own time (the clock stands at it while its handlers run). Resolves with the new time.
   */
  advance(clock: VirtualClock, ms: number): Promise<number> {
    return this.exclusive(async () => {
      const target = clock.now() + ms
      for (;;) {
        await this.refill()
        // Every index entry due before `known` is in the wheel; later ones may still wait in the store.
        const known = Math.min(...this.sources.map((s) => s.loadedUntil))
        const next = this.nextDueAt()
        if (next !== undefined && next <= target && next <= known) {
          clock.set(Math.max(clock.now(), next))
          await this.fireDue(clock.now())
        } else if (known < target) {
          // Nothing known before `known`: move there, so that the wheel turns and the next refill reaches further.
          clock.set(Math.max(clock.now(), known))
          await this.fireDue(clock.now())
        } else break
      }
      clock.set(target)
      await this.fireDue(target)
      return target
    })
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.serial.then(work, work)
    this.serial = run.catch(() => undefined)
    return run
  }

  private nextDueAt(): number | undefined {
    let next = this.wheel.nextAt()
    for (const schedule of this.schedules.values())
      if (schedule.next !== undefined && (next === undefined || schedule.next < next)) next = schedule.next
    return next
  }

  /** Sees the store's writes: index entries within reach join the wheel; deleted ones leave it, O(1) each. */
  private observe(ops: Op[]): void {
    for (const op of ops) {
      const source = op.key.startsWith('x\u0000') ? this.sources[0]! : op.key.startsWith('d\u0000') ? this.sources[1]! : op.key.startsWith('w\u0000') ? this.sources[2]! : undefined
      if (!source) continue
      if (op.type === 'del') {
        this.wheel.cancel(op.key)
        continue
      }
      const at = atOf(op.key)
      if (at >= source.loadedUntil || at >= this.wheel.reach) continue
      if (this.wheel.count >= this.capacity) {
        // Full: the latest entry goes back to waiting in the store, and what follows it with it.
        const evicted = this.wheel.evictLatest()!
        for (const s of this.sources) s.loadedUntil = Math.min(s.loadedUntil, evicted.at)
        if (at >= evicted.at) continue
      }
      this.wheel.add(op.key, at)
    }
  }

  /**
   * Claims a cron occurrence on a database other processes share: every process runs the bot's schedules, and
   * the first to claim an occurrence stores its event (`eventOps`) with the claim, in one batch under a lock
   * that holds across the processes (the claim records the latest occurrence). If it dies before the event
   * ran, the event is pending and the process that takes over its work runs it.
   */
  private claimOccurrence(schedule: Schedule, at: number, eventOps: Op[]): Promise<boolean> {
    const { store } = this.options
    const claim = layout.schedules.lastFired(schedule.botId, schedule.name)
    return store.hold({ exclusive: [claim] }, async () => {
      const last = await store.get(claim)
      if (last !== undefined && Number(last) >= at) return false
      await store.batch([{ type: 'put', key: claim, value: String(at) }, ...eventOps])
      return true
    })
  }

  /**
   * On a shared database the indexes also grow by other processes' writes, which this one's observer never
   * sees: what is due by now is read again at every refill, so that a process that died leaves nothing
   * unfired (whoever takes an entry first fires it; the others find it gone).
   */
  private async rescanDue(now: number): Promise<void> {
    for (const source of this.sources) {
      const range = { gt: source.range.gt, lt: key(source.namespace, timeSegment(now + 1)) }
      for await (const indexKey of this.options.store.iterateKeys(range)) {
        if (this.wheel.count >= this.capacity) return
        if (!this.wheel.has(indexKey)) this.wheel.add(indexKey, atOf(indexKey))
      }
    }
  }

  /** Loads index entries due before the wheel's reach, in time order, up to the capacity. */
  private async refill(): Promise<void> {
    if (this.options.store.shared) await this.rescanDue(this.options.clock.now())
    for (const source of this.sources) {
      const reach = this.wheel.reach
      if (source.loadedUntil >= reach) continue
      const range = { gt: key(source.namespace, timeSegment(source.loadedUntil)), lt: source.range.lt }
      let until = reach
      for await (const indexKey of this.options.store.iterateKeys(range)) {
        const at = atOf(indexKey)
        if (at >= reach) break
        if (this.wheel.count >= this.capacity) {
          until = at
          break
        }
        if (!this.wheel.has(indexKey)) this.wheel.add(indexKey, at)
      }
      source.loadedUntil = until
    }
  }

  /**
   * Fires wheel entries and schedules due by `now`. On the virtual clock, one time after another and the
   * entries of one time together. On the real clock everything already late goes at once: 10,000
   * expiries due in one second must not wait for each other's writes.
   */
  private async fireDue(now: number, ordered = true): Promise<void> {
    const due = this.wheel.takeDue(now)
    if (ordered) {
      for (let i = 0; i < due.length; ) {
        let j = i
        while (j < due.length && due[j]!.at === due[i]!.at) j++
        await this.fireGroup(due.slice(i, j), true)
        i = j
      }
    } else await this.fireGroup(due, false)
    for (const schedule of this.schedules.values()) {
      while (schedule.next !== undefined && schedule.next <= now) {
        const at = schedule.next
        schedule.next = schedule.cron.nextAfter(at)
        if (!this.options.work.has(schedule.botId)) continue
        const claim: CronClaim | undefined = this.options.store.shared ? (eventOps) => this.claimOccurrence(schedule, at, eventOps) : undefined
        const fire = () => this.guard({ bot: schedule.botId, schedule: schedule.name }, () => this.options.work.fireCron(schedule.botId, schedule.type, schedule.payload, claim))
        if (ordered) await fire()
        else this.launch(schedule.botId, fire)
      }
    }
  }

  /**
   * Fires due entries together: each bot's expiries in chunks of EXPIRY_CHUNK (one read and one batch
   * each), events one by one, CONCURRENCY pieces of each bot's work at a time. `wait`: resolve once all of
   * it has finished (the virtual clock); else start it and return (the real clock).
   */
  private async fireGroup(entries: { key: string; at: number }[], wait: boolean): Promise<void> {
    const work: { botId: string; run: () => Promise<void> }[] = []
    const expiries = new Map<string, DueExpiry[]>()
    const absent = new Set<string>()
    for (const { key: indexKey, at } of entries) {
      const segments = decodeKey(indexKey)
      const botId = segments[2]!
      if (!this.options.work.has(botId)) {
        absent.add(botId)
        continue
      }
      if (segments[0] === 'x') {
        const [, , , type, id, name] = segments as [string, string, string, DueExpiry['type'], string, string]
        expiries.set(botId, [...(expiries.get(botId) ?? []), { type, id, name, at }])
      } else if (segments[0] === 'w') work.push({ botId, run: () => this.guard({ bot: botId, workflow: segments[3] }, () => this.options.work.timeOutWorkflow(botId, segments[3]!, at)) })
      else work.push({ botId, run: () => this.guard({ bot: botId, event: segments[3] }, () => this.options.work.releaseEvent(botId, segments[3]!, at)) })
    }
    for (const botId of absent) this.options.logger.warn('due work of a bot that is not running waits for its next start', { bot: botId })
    for (const [botId, due] of expiries)
      for (let i = 0; i < due.length; i += EXPIRY_CHUNK) {
        const chunk = due.slice(i, i + EXPIRY_CHUNK)
        work.push({ botId, run: () => this.guard({ bot: botId, expiries: chunk.length }, () => this.options.work.expire(botId, chunk)) })
      }
    const pieces = work.map(({ botId, run }) => this.launch(botId, run))
    if (wait) await Promise.all(pieces)
  }

  /** Starts a piece of a bot's due work in its lane: at most CONCURRENCY of one bot's pieces run at once. */
  private launch(botId: string, run: () => Promise<void>): Promise<void> {
    let lane = this.lanes.get(botId)
    if (!lane) this.lanes.set(botId, (lane = { running: 0, queue: [] }))
    let resolve!: () => void
    const promise = new Promise<void>((r) => (resolve = r))
    const go = () => {
      lane.running++
      void (this.stopping ? Promise.resolve() : run()).finally(() => {
        lane.running--
        resolve()
        const next = lane.queue.shift()
        if (next) next()
        else if (lane.running === 0) this.lanes.delete(botId)
      })
    }
    if (lane.running < CONCURRENCY) go()
    else lane.queue.push(go)
    this.started.add(promise)
    void promise.then(() => this.started.delete(promise))
    return promise
  }

  private async guard(fields: Record<string, unknown>, work: () => Promise<void>): Promise<void> {
    try {
      await work()
    } catch (error) {
      this.options.logger.error('due work failed', { ...fields, error: (error as Error).message })
    }
  }
}

function atOf(indexKey: string): number {
  return parseTimeSegment(decodeKey(indexKey)[1]!)
}
