/**
 * `npm start`: flags → store → bots → time → faces. Nothing else lives here.
 */
import { resolve } from 'node:path'
import { createLogger, levelFromEnv } from './log.ts'
import { parseFlags, type Flags } from './flags.ts'
import { startRuntime } from './runtime.ts'
import { DataFolderInUseError, Store } from './store/store.ts'
import { systemClock, VirtualClock, type Clock } from './time/clock.ts'
import { startHttp } from './faces/http.ts'

function fail(message: string, code: number): never {
  process.stderr.write(`localbot: ${message}\n`)
  process.exit(code)
}

let flags: Flags
try {
  flags = parseFlags(process.argv.slice(2))
} catch (error) {
  fail((error as Error).message, 2)
}

const logger = createLogger({
  level: levelFromEnv(process.env.LOG_LEVEL),
  sink: { write: (line) => process.stderr.write(line + '\n'), json: !process.stdout.isTTY },
})
const clock: Clock = flags.virtualClock ? new VirtualClock(systemClock.now()) : systemClock

let store: Store
try {
  store = await Store.open(resolve(flags.data))
} catch (error) {
  if (error instanceof DataFolderInUseError) fail(`data folder in use by another localbot (${error.location})`, 1)
  fail(`cannot open the data folder ${flags.data}: ${(error as Error).message}`, 1)
}

const runtime = await startRuntime({ botsDir: resolve(flags.bots), store, clock, logger })

const http = flags.http ? await startHttp(runtime, { host: flags.host, port: flags.port }, { token: flags.token, advanceClock: runtime.advanceClock }) : undefined
if (http) process.stdout.write(`listening on ${http.url}\n`)

let stopping = false
async function stop(signal: string) {
  if (stopping) return
  stopping = true
  logger.info('stopping: finishing handlers in flight', { signal })
  http?.server.close()
  http?.server.closeAllConnections()
  await runtime.close()
  process.exit(0)
}
process.on('SIGINT', () => void stop('SIGINT'))
process.on('SIGTERM', () => void stop('SIGTERM'))
