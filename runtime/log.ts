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
export function createLogger(options: { level?: LogLevel; sink?: LogSink; fields?: LogFields } = {}): Logger {
  const level = options.level ?? 'info'
  const sink = options.sink ?? { write: (line: string) => process.stderr.write(line + '\n'), json: !process.stderr.isTTY }
  const base = options.fields ?? {}
  const threshold = logLevels.indexOf(level)
  const emit = (lineLevel: LogLevel, message: string, fields?: LogFields) => {
    if (logLevels.indexOf(lineLevel) < threshold) return
    const all = { ...base, ...fields }
    if (sink.json) sink.write(JSON.stringify({ level: lineLevel, msg: message, ...all }))
    else {
      const extra = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ')
      sink.write(`${lineLevel.toUpperCase()} ${message}${extra ? ' ' + extra : ''}`)
    }
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ level, sink, fields: { ...base, ...fields } }),
  }
}

/** The level named by `LOG_LEVEL`, or info. */
export function levelFromEnv(value: string | undefined): LogLevel {
  return (logLevels as readonly string[]).includes(value ?? '') ? (value as LogLevel) : 'info'
}
