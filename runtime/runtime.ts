import { findBotFolders, loadBots, type BotFolder, type BotLoadError } from './bots/loader.ts'
import { createBus, type Bus } from './dispatch/bus.ts'
import { Dispatcher } from './dispatch/dispatcher.ts'
import type { Logger } from './log.ts'
import type { Store } from './store/store.ts'
import type { Clock } from './time/clock.ts'

/** A running set of bots over one store: what the faces and the test harness talk to. */
export type Runtime = {
  store: Store
  clock: Clock
  bus: Bus
  dispatcher: Dispatcher
  logger: Logger
  botsDir: string
  /** Bots that failed to load at start. */
  failures: BotLoadError[]
  /** Waits for handlers in flight, then closes the store. */
  close(): Promise<void>
}

/**
 * Loads every bot of `botsDir` (or only `folders`) over `store`; a bot that fails to load is logged
 * with its file, and the others run.
 */
export async function startRuntime(options: { botsDir: string; folders?: BotFolder[]; store: Store; clock: Clock; logger: Logger }): Promise<Runtime> {
  const { store, clock, logger, botsDir } = options
  const bus = createBus()
  const dispatcher = new Dispatcher({ store, clock, bus, logger })
  const { bots, failures } = await loadBots(options.folders ?? (await findBotFolders(botsDir)))
  for (const loaded of bots) {
    dispatcher.setBot(loaded)
    if (loaded.ignored.length > 0)
      logger.warn('definition parts that localbot does not run are ignored', { bot: loaded.id, parts: loaded.ignored })
    logger.info('bot loaded', { bot: loaded.id, handlers: loaded.bot.registrations.length })
  }
  for (const failure of failures) logger.error('bot failed to load', { bot: failure.botId, file: failure.file, error: (failure.cause as Error)?.message ?? String(failure.cause) })
  let closing: Promise<void> | undefined
  return {
    store,
    clock,
    bus,
    dispatcher,
    logger,
    botsDir,
    failures,
    close() {
      closing ??= (async () => {
        await dispatcher.idle()
        await store.close()
      })()
      return closing
    },
  }
}
