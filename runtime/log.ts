/** Log levels, quietest last. `LOG_LEVEL` picks the least severe level printed (default info). */
export const logLevels = ['debug', 'info', 'warn', 'error', 'silent'] as const
/** One of the log levels. */
export type LogLevel = (typeof logLevels)[number]

/** Fields that say what a line is about: bot, conversation, message, handler... */
export type LogFields = Record<string, unknown>

/** A logger with context fields; `child` adds more. */
export type Logger = {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  child(fields: LogFields): Logger
}

/** Where lines go and how they look. */
export type LogSink = { write(line: string): void; json: boolean }

/** Lines as JSON when the sink is not a terminal, else `LEVEL message key=value`. */
export function createLogger(options: { level?: LogLevel; sink?: LogSink; fields?: LogFields; filter?: (level: LogLevel, message: string, fields: LogFields) => boolean } = {}): Logger {
  const level = options.level ?? 'info'
  const sink = options.sink ?? { write: (line: string) => process.stderr.write(line + '\n'), json: !process.stderr.isTTY }
  const base = options.fields ?? {}
  const threshold = logLevels.indexOf(level)
  const emit = (lineLevel: LogLevel, message: string, fields?: LogFields) => {
    if (logLevels.indexOf(lineLevel) < threshold) return
    // A field without a value says nothing: it is left out.
    const all = Object.fromEntries(Object.entries({ ...base, ...fields }).filter(([, v]) => v !== undefined))
    if (options.filter && !options.filter(lineLevel, message, all)) return
    const now = new Date()
    if (sink.json) sink.write(JSON.stringify({ time: now.toISOString(), level: lineLevel, msg: message, ...all }))
    else {
      const extra = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ')
      // The local time of day, to the millisecond: enough to line a log up with what happened.
      const time = `${String(now.getHours()).padStart(2, '0')}:${String(now.getMinutes()).padStart(2, '0')}:${String(now.getSeconds()).padStart(2, '0')}.${String(now.getMilliseconds()).padStart(3, '0')}`
      sink.write(`${time} ${lineLevel.toUpperCase()} ${message}${extra ? ' ' + extra : ''}`)
    }
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ level, sink, fields: { ...base, ...fields }, filter: options.filter }),
  }
}

/** The level named by `LOG_LEVEL`, or info. */
export function levelFromEnv(value: string | undefined): LogLevel {
  return (logLevels as readonly string[]).includes(value ?? '') ? (value as LogLevel) : 'info'
}
