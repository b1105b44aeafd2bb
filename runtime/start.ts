/**
 * The program of `npm start` (main.ts) and of the installed `localbot` (cli.ts): flags → store → bots → time →
 * faces. Nothing else lives here.
 */
import { mkdir, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import v8 from 'node:v8'
import { CompileCache } from './bots/compile-cache.ts'
import { preloadSdks } from './bots/loader.ts'
import { startHttp } from './faces/http.ts'
import { catchStrayErrors } from './host/faults.ts'
import { Supervisor } from './host/supervisor.ts'
import { readSpunRecords, startWatchdog } from './host/watchdog.ts'
import { startRepl } from './faces/repl.ts'
import { parseFlags, type Command, type Flags } from './flags.ts'
import { createLogger, levelFromEnv } from './log.ts'
import { findProject, type Project } from './project.ts'
import { startRuntime } from './runtime.ts'
import { DataFolderError } from './store/open.ts'
import { Store } from './store/store.ts'
import { systemClock, VirtualClock, type Clock } from './time/clock.ts'
import { claimClock, ClockMismatchError, writeClockRecord } from './time/clock-file.ts'
import { startTicker } from './time/ticker.ts'

/**
 * V8 lets the heap grow to about twice what the last full collection kept before it collects again: a
 * localbot answering messages reached 220 MB resident after 20,000 of them, most of it garbage waiting.
 * Growing by half instead kept it near 160 MB for about 8% more CPU per message (`npm run bench`, peer-rss;
 * scripts/bench/profile.ts). Left alone when the user set the flag (node's options or NODE_OPTIONS).
 */
function keepHeapSmall(): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((option) => /heap[-_]growing[-_]percent/.test(option))
  if (!given) v8.setFlagsFromString('--heap-growing-percent=50')
}

function fail(message: string, code: number): never {
  process.stderr.write(`localbot: ${message}\n`)
  process.exit(code)
}

/** Runs localbot as `command` does with `argv` (its flags): until a signal, or the end of a scripted REPL's input. */
export async function start(command: Command, argv: string[]): Promise<void> {
  keepHeapSmall()
  let flags: Flags
  try {
    flags = parseFlags(argv, command, process.env)
  } catch (error) {
    fail((error as Error).message, 2)
  }

  // One bot's stray exception or spin must not take the others down (see host/). The watchdog's thread starts
  // first: it boots on another core while this one loads the bots, and requests wait for it.
  const supervisor = new Supervisor(flags.handlerTimeout * 1000)
  const spunFile = join(resolve(flags.data), 'localbot-spun.json')
  const watchdog = startWatchdog({ limitMs: supervisor.timeoutMs, spunFile, json: !process.stdout.isTTY })
  supervisor.onChange((calls) => watchdog.update(calls))

  let project: Project
  try {
    project = await findProject(flags.run)
  } catch (error) {
    fail((error as Error).message, 2)
  }
  if (project.summary) process.stderr.write(`localbot: ${project.summary}; data in ${resolve(flags.data)}\n`)

  const repl = flags.repl ?? process.stdin.isTTY === true
  const interactive = repl && process.stdin.isTTY === true
  // Lines go to stderr; at a terminal REPL, above its prompt (which is redrawn).
  let writeLine: (line: string) => void = (line) => void process.stderr.write(line + '\n')
  const logger = createLogger({
    level: levelFromEnv(process.env.LOG_LEVEL),
    sink: { write: (line) => writeLine(line), json: !process.stdout.isTTY },
    // At a terminal REPL every message's info line would bury the conversation: what the bots themselves log
    // (their handlers' lines), loads and reloads, warnings and errors only, unless LOG_LEVEL says otherwise.
    filter: interactive && process.env.LOG_LEVEL === undefined ? (level, message, fields) => level !== 'info' || fields.handler !== undefined || /^bot (loaded|reloaded)$/.test(message) : undefined,
  })

  let store: Store
  try {
    // A large folder can take a while (LevelDB replays its log): say so every second.
    let seconds = 0
    const stopProgress = startTicker(async () => logger.info('still opening the store', { store: flags.store === undefined ? flags.data : 'postgres', seconds: ++seconds }), 1000)
    // On PostgreSQL the data folder still keeps this process's own files (the clock, the REPL's history).
    if (flags.store !== undefined) await mkdir(resolve(flags.data), { recursive: true })
    // Botpress's SDK loads while LevelDB opens the folder on its own thread.
    const [opened] = await Promise.all([Store.open(flags.store ?? resolve(flags.data), { fsync: flags.fsync }).finally(stopProgress), preloadSdks(project.botsDir, project.folders)])
    store = opened
  } catch (error) {
    // A DataFolderError, and any failure to open a PostgreSQL store, is one sentence already: the cause and what to do.
    fail(error instanceof DataFolderError || flags.store !== undefined ? (error as Error).message : `cannot open the data folder ${flags.data}: ${(error as Error).message}`, 1)
  }

  // The virtual clock goes on from the folder's saved time; a folder is never used with the other clock silently.
  let clock: Clock = systemClock
  try {
    const { start } = await claimClock(resolve(flags.data), flags.virtualClock, systemClock.now())
    if (flags.virtualClock) clock = new VirtualClock(start)
  } catch (error) {
    await store.close()
    fail(error instanceof ClockMismatchError ? error.message : `cannot read the clock of the data folder ${flags.data}: ${(error as Error).message}`, 1)
  }

  catchStrayErrors(supervisor, logger)
  const spun = await readSpunRecords(spunFile, logger)

  // Compiled bots are kept in the data folder (a dot-folder, which LevelDB's checks leave alone): a start whose bots did not change runs no compiler.
  const compileCache = new CompileCache(join(resolve(flags.data), '.compiled'))
  const runtime = await startRuntime({ botsDir: project.botsDir, folders: project.folders, store, clock, logger, supervisor, spun, strictActions: flags.strictActions, compileCache })
  const advance = runtime.advanceClock
  // Each move of the virtual clock is saved, so that a restart goes on from it.
  if (advance) runtime.advanceClock = async (seconds) => {
    const now = await advance(seconds)
    await writeClockRecord(resolve(flags.data), { clock: 'virtual', now: new Date(now).toISOString() })
    return now
  }
  if (spun.size > 0) void runtime.ready.then(() => rm(spunFile, { force: true }))
  if (flags.watch) runtime.watch()
  // Requests come once the watchdog can end a spin that a stop was asked during.
  await watchdog.ready

  let http: Awaited<ReturnType<typeof startHttp>> | undefined
  if (flags.http) {
    try {
      http = await startHttp(runtime, { host: flags.host, port: flags.port }, { token: flags.token, advanceClock: runtime.advanceClock })
    } catch (error) {
      // A busy port need not end a REPL session: say so and go on without HTTP.
      if (!repl) {
        await runtime.close()
        fail(`cannot listen on ${flags.host}:${flags.port}: ${(error as Error).message}`, 1)
      }
      logger.error('HTTP not started; the REPL goes on without it', { host: flags.host, port: flags.port, error: (error as Error).message })
    }
    if (http) process.stdout.write(`listening on ${http.url}\n`)
  }

  let stopping = false
  /** Stops; `code` is the exit status when nothing fails at the stop (a scripted REPL whose lines failed: 1). */
  async function stop(reason: string, failed = false) {
    if (stopping) return
    stopping = true
    logger.info('stopping: answering the requests in flight, finishing handlers', { reason })
    let code = failed ? 1 : 0
    try {
      await http?.stop()
      await runtime.close()
    } catch (error) {
      // A full disk at the last flush: say what was not saved, in one line.
      logger.error('stopped with writes not saved', { error: (error as Error).message })
      code = 1
    }
    watchdog.stop()
    process.exit(code)
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))

  if (repl) {
    try {
      const started = startRepl(runtime, {
        input: process.stdin,
        output: process.stdout,
        interactive,
        botId: flags.bot,
        // Kept in the data folder, across restarts.
        historyFile: join(resolve(flags.data), 'localbot-repl-history'),
        onExit: (failures) => void stop('end of input', !interactive && failures > 0),
      })
      if (interactive) writeLine = started.print
    } catch (error) {
      await runtime.close()
      fail((error as Error).message, 2)
    }
  }
}
