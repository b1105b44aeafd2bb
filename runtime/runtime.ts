import { basename, dirname, join } from 'node:path'
import { BotLoadError, findBotFolders, loadBot, loadBots, type BotFolder, type LoadedBot } from './bots/loader.ts'
import type { CompileCache } from './bots/compile-cache.ts'
import { watchBots } from './bots/watch.ts'
import { createBus, type Bus } from './dispatch/bus.ts'
import { Timeline } from './timeline.ts'
import { Dispatcher } from './dispatch/dispatcher.ts'
import { Supervisor } from './host/supervisor.ts'
import type { Logger } from './log.ts'
import type { Store } from './store/store.ts'
import { VirtualClock, type Clock } from './time/clock.ts'
import { TimeKeeper } from './time/keeper.ts'
import { startTicker } from './time/ticker.ts'

/** How often a process on a shared database looks for processes that died, to finish their work. */
const ADOPT_EVERY_MS = 1000

/** A running set of bots over one store: what the faces and the test harness talk to. */
export type Runtime = {
  store: Store
  clock: Clock
  bus: Bus
  /** What each bot did, for the console and `GET /bots/:botId/timeline`. */
  timeline: Timeline
  dispatcher: Dispatcher
  keeper: TimeKeeper
  logger: Logger
  /** With a virtual clock: moves it forward by `seconds`, firing everything due on the way; resolves with the new time (ms). */
  advanceClock?: (seconds: number) => Promise<number>
  botsDir: string
  /** Bots that failed to load at start. */
  failures: BotLoadError[]
  /**
   * Resolves once the work a stop interrupted has been replayed (and, on the real clock, what expired
   * while stopped has been started). Faces serve meanwhile.
   */
  ready: Promise<void>
  /**
   * Loads a bot's folder again: the next message runs the new code, messages in flight finish on the old,
   * data and pending expiries stay. A bot that fails to load keeps its previous code; the error is returned.
   */
  reload(botId: string): Promise<BotLoadError | undefined>
  /** Reloads a bot whenever its files change; returns a function that stops watching. */
  watch(): () => void
  /** Waits for handlers in flight, then closes the store. */
  close(): Promise<void>
}

/** One function that stops every watcher. */
const stopAll = (stops: (() => void)[]) => () => stops.forEach((stop) => stop())

/**
 * Loads every bot of `botsDir` (or only `folders`) over `store`; a bot that fails to load is logged
 * with its file, and the others run.
 */
export async function startRuntime(options: {
  botsDir: string
  folders?: BotFolder[]
  store: Store
  clock: Clock
  logger: Logger
  /** Each handler's time limit (default 60 s, as Botpress Cloud). */
  handlerTimeoutMs?: number
  /** Runs the handlers (main.ts shares it with the watchdog); else one with `handlerTimeoutMs`. */
  supervisor?: Supervisor
  /** Records whose handlers spun at the last run: marked failed at replay instead of run again. */
  spun?: Set<string>
  /** An integration action without a mock fails instead of answering its schema's plausible output. */
  strictActions?: boolean
  /** Keeps compiled bot files between runs (the CLI's, in its data folder); without it every load compiles. */
  compileCache?: CompileCache
}): Promise<Runtime> {
  const { store, clock, botsDir } = options
  const bus = createBus()
  const timeline = new Timeline({ bus, store, clock })
  // Lines about a bot go to its timeline as well as to the log.
  const logger = timeline.tap(options.logger)
  const dispatcher = new Dispatcher({ store, clock, bus, logger, supervisor: options.supervisor ?? new Supervisor(options.handlerTimeoutMs), strictActions: options.strictActions })
  const keeper = new TimeKeeper({ store, clock, logger, work: dispatcher })
  /**
   * Puts a loaded bot to work: its code, its schedules (replaced, not doubled), its `register` call; says its
   * expiry unit and what is simulated. Returns whether the bot was not running before.
   */
  const install = (loaded: LoadedBot, verb: string) => {
    const arrived = !dispatcher.has(loaded.id)
    dispatcher.setBot(loaded)
    keeper.setSchedules(loaded.id, loaded.recurringEvents)
    logger.info(`bot ${verb}`, {
      bot: loaded.id,
      expiry: loaded.expiryUnit === 'ms' ? 'milliseconds (a Botpress project, as Botpress Cloud)' : 'seconds (as the reference page)',
      ...(loaded.generated.reason === undefined ? {} : { botpress: `.botpress left as it is: ${loaded.generated.reason}` }),
      ...(loaded.clientFromEnv ? { sdk: `@botpress/sdk ${loaded.sdkVersion} takes no client: it reaches localbot's API over loopback HTTP (BP_API_URL)` } : {}),
    })
    if (loaded.simulated.length > 0)
      logger.warn('bp_modules not downloaded (bp add): localbot simulates them', { bot: loaded.id, packages: loaded.simulated })
    // Botpress Cloud calls register when a bot is deployed: here, when it is loaded.
    void dispatcher.register(loaded.id)
    return arrived
  }
  const reportFailure = (message: string, failure: BotLoadError) =>
    logger.error(message, {
      bot: failure.botId,
      // path:line:column, which terminals and editors open.
      at: failure.line === undefined ? failure.file : `${failure.file}:${failure.line}:${failure.column}`,
      file: failure.file,
      line: failure.line,
      column: failure.column,
      error: (failure.cause as Error)?.message ?? String(failure.cause),
    })

  const skipped: string[] = []
  const { bots, failures } = await loadBots(options.folders ?? (await findBotFolders(botsDir, skipped)), clock, options.compileCache)
  if (skipped.length > 0) logger.info('folders that are not bots (no bot.definition.ts, index.ts or src/index.ts) are left alone', { folders: skipped })
  for (const loaded of bots) install(loaded, 'loaded')
  for (const failure of failures) reportFailure('bot failed to load', failure)
  await keeper.start()
  if (!(clock instanceof VirtualClock)) keeper.startTicking()
  const replayAll = () => Promise.all(dispatcher.botIds().map((botId) => dispatcher.replayUnfinished(botId, { skip: options.spun })))
  // Expired while stopped, and interrupted by the stop: started now, in the background, within bounds. On a
  // database other live processes share, unfinished work is theirs, unless it is a dead process's.
  const ready = (async () => {
    const { adopted, others } = await store.adoptDead()
    if (others === 0 || adopted.length > 0) await replayAll()
    await (clock instanceof VirtualClock ? keeper.advance(clock, 0) : keeper.tick())
  })()
  ready.catch((error) => logger.error('replay at start failed', { error: (error as Error).message }))
  // A process that dies on a shared database leaves its turns and claims to the others: one of them finishes its work.
  const stopAdopting = store.shared && !(clock instanceof VirtualClock)
    ? startTicker(async () => {
        const { adopted } = await store.adoptDead()
        if (adopted.length === 0) return
        logger.warn('finishing the work of localbot processes that died', { processes: adopted })
        await replayAll()
      }, ADOPT_EVERY_MS)
    : undefined
  let closing: Promise<void> | undefined
  let unwatch: (() => void) | undefined
  const reload = async (botId: string) => {
    const folder = options.folders?.find((f) => f.id === botId) ?? { id: botId, dir: join(botsDir, botId) }
    try {
      const loaded = await loadBot(folder, clock, options.compileCache)
      if (install(loaded, 'reloaded')) {
        // It failed at start: what it owed meanwhile runs now.
        keeper.botArrived()
        void dispatcher.replayUnfinished(botId, { skip: options.spun }).catch((error) => logger.error('replay failed', { bot: botId, error: (error as Error).message }))
      }
      return undefined
    } catch (error) {
      const failure = error instanceof BotLoadError ? error : new BotLoadError(botId, folder.dir, { cause: error })
      reportFailure('reload failed: the previous code keeps serving', failure)
      return failure
    }
  }
  return {
    store,
    clock,
    bus,
    timeline,
    dispatcher,
    keeper,
    logger,
    botsDir,
    failures,
    ready,
    advanceClock: clock instanceof VirtualClock ? (seconds) => keeper.advance(clock, Math.round(seconds * 1000)) : undefined,
    reload,
    watch() {
      // Given folders (one bot run on its own) are watched each by itself: their parent may be any folder at all.
      const { folders } = options
      unwatch ??= folders
        ? stopAll(folders.map((f) => watchBots(dirname(f.dir), () => void reload(f.id), basename(f.dir))))
        : watchBots(botsDir, (botId) => void reload(botId))
      return unwatch
    },
    close() {
      closing ??= (async () => {
        unwatch?.()
        stopAdopting?.()
        await ready.catch(() => undefined)
        await keeper.stop()
        await dispatcher.close()
        await store.close()
      })()
      return closing
    },
  }
}
