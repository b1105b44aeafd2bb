import type { Logger } from '../log.ts'
import type { Supervisor } from './supervisor.ts'

/**
 * Keeps one bot's stray exceptions from ending the process: an exception thrown in a bot's timer or a
 * rejection nobody handles is logged with the bot (and handler, when it came from one) and the runtime
 * goes on. An exception that no bot can be named for is logged as localbot's own.
 */
export function catchStrayErrors(supervisor: Supervisor, logger: Logger): () => void {
  // A terminal or pipe that went away (the parent died): writing to it fails with EPIPE, and so would the log
  // line about it, in a loop. Nothing can be said there any more; the runtime goes on.
  const quiet = () => undefined
  process.stdout.on('error', quiet)
  process.stderr.on('error', quiet)
  let reporting = false
  const report = (kind: string) => (error: unknown) => {
    if ((error as { code?: string })?.code === 'EPIPE' || reporting) return
    reporting = true
    try {
      log(kind, error)
    } catch {
      // The log itself failed: nothing more to do.
    } finally {
      reporting = false
    }
  }
  const log = (kind: string, error: unknown) => {
    const origin = supervisor.attribute(error)
    const fields = {
      ...origin.fields,
      bot: origin.bot ?? '(none: not from a bot)',
      handler: origin.handler,
      error: error instanceof Error ? error.message : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    }
    logger.error(origin.bot === undefined ? `${kind} outside any bot` : `${kind} in bot code: the runtime goes on`, fields)
  }
  const uncaught = report('uncaught exception')
  const unhandled = report('unhandled rejection')
  process.on('uncaughtException', uncaught)
  process.on('unhandledRejection', unhandled)
  return () => {
    process.off('uncaughtException', uncaught)
    process.off('unhandledRejection', unhandled)
    process.stdout.off('error', quiet)
    process.stderr.off('error', quiet)
  }
}
