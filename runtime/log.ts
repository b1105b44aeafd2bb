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

type LoggerOptions = { level?: LogLevel; sink?: LogSink; fields?: LogFields; filter?: (level: LogLevel, message: string, fields: LogFields) => boolean }

/**
 * `{ ...a, ...b }` for log fields, without what that costs in Node 20 (V8 11.3): there, every property added to an
 * object after a spread gives it a new hidden class that is never reused, and deoptimizes the code that relied on
 * the one before. A message's turn made eight this way (V8's --log-maps); without them it took about a tenth less
 * CPU at 10 in flight (scripts/bench/profile.ts). The fields go one by one into a new object instead, whose hidden
 * classes are shared from one line to the next. A `__proto__` field is left out: assigning it would set the
 * object's prototype.
 */
export function mergeFields(a: LogFields, b: LogFields): LogFields {
  const out: LogFields = {}
  for (const k of Object.keys(a)) if (k !== '__proto__') out[k] = a[k]
  for (const k of Object.keys(b)) if (k !== '__proto__') out[k] = b[k]
  return out
}

/** Lines as JSON when the sink is not a terminal, else `LEVEL message key=value`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const sink = options.sink ?? { write: (line: string) => process.stderr.write(line + '\n'), json: !process.stderr.isTTY }
  return new FieldLogger(options.level ?? 'info', sink, options.fields ?? {}, options.filter)
}

/**
 * A class, not closures: a handler call makes a child logger, and each closure made per call would cost its
 * allocation (and, run by tsx, a `name` defined on it).
 */
class FieldLogger implements Logger {
  private readonly threshold: number

  constructor(
    private readonly level: LogLevel,
    private readonly sink: LogSink,
    private readonly base: LogFields,
    private readonly filter: LoggerOptions['filter'],
  ) {
    this.threshold = logLevels.indexOf(level)
  }

  debug(message: string, fields?: LogFields): void {
    this.emit('debug', message, fields)
  }

  info(message: string, fields?: LogFields): void {
    this.emit('info', message, fields)
  }

  warn(message: string, fields?: LogFields): void {
    this.emit('warn', message, fields)
  }

  error(message: string, fields?: LogFields): void {
    this.emit('error', message, fields)
  }

  child(fields: LogFields): Logger {
    return new FieldLogger(this.level, this.sink, mergeFields(this.base, fields), this.filter)
  }

  private emit(lineLevel: LogLevel, message: string, fields?: LogFields): void {
    if (logLevels.indexOf(lineLevel) < this.threshold) return
    // A field without a value says nothing: it is left out.
    const merged = fields === undefined ? this.base : mergeFields(this.base, fields)
    const all: LogFields = {}
    for (const k of Object.keys(merged)) if (merged[k] !== undefined) all[k] = merged[k]
    if (this.filter && !this.filter(lineLevel, message, all)) return
    const now = new Date()
    if (this.sink.json) this.sink.write(JSON.stringify({ time: now.toISOString(), level: lineLevel, msg: message, ...all }))
    else {
      const extra = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ')
      // The local time of day, to the millisecond: enough to line a log up with what happened.
      const time = `${String(now.getHours()).padStart(2, '0')}:${String(now.getMinutes()).padStart(2, '0')}:${String(now.getSeconds()).padStart(2, '0')}.${String(now.getMilliseconds()).padStart(3, '0')}`
      this.sink.write(`${time} ${lineLevel.toUpperCase()} ${message}${extra ? ' ' + extra : ''}`)
    }
  }
}

/** The level named by `LOG_LEVEL`, or info. */
export function levelFromEnv(value: string | undefined): LogLevel {
  return (logLevels as readonly string[]).includes(value ?? '') ? (value as LogLevel) : 'info'
}
