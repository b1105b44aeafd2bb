import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { z } from 'zod'

/** Which command reads the flags: `npm start` in this repository, or the installed package's `localbot`. They differ only in what runs when neither DIR nor `--bots` is given. */
export type Command = 'npm start' | 'localbot'

/** The flags of `npm start -- FLAGS` and `localbot [DIR] FLAGS` (CONTRACT section 5). */
export type Flags = {
  /** What runs: a folder of bots (`--bots`, `npm start`'s default `bots`), or DIR, one bot or a folder of bots (`localbot`'s default `.`). */
  run: { bots: string } | { dir: string }
  /** The data folder: `--data`, else `data` for `--bots`, else `DIR/.localbot`. */
  data: string
  port: number
  host: string
  token?: string
  http: boolean
  repl: boolean | undefined
  bot?: string
  virtualClock: boolean
  watch: boolean
  /** Seconds a handler may run before it is logged as failed and its conversation moves on. */
  handlerTimeout: number
  /** Sync every group of writes to disk before anyone is answered. */
  fsync: boolean
  /** An integration action without a mock fails instead of answering its schema's plausible output. */
  strictActions: boolean
  /** The store on PostgreSQL (`--store postgres://...`, else LOCALBOT_DATABASE_URL), shared with other processes; else LevelDB in `data`. */
  store?: string
}

const schema = z.object({
  bots: z.string().min(1).optional(),
  data: z.string().min(1).optional(),
  port: z.coerce.number().int().min(0).max(65535).default(3000),
  host: z.string().min(1).default('127.0.0.1'),
  token: z.string().min(1).optional(),
  'no-http': z.boolean().default(false),
  repl: z.boolean().optional(),
  'no-repl': z.boolean().default(false),
  bot: z.string().min(1).optional(),
  'virtual-clock': z.boolean().default(false),
  'no-watch': z.boolean().default(false),
  'handler-timeout': z.coerce.number().positive().max(24 * 3600).default(60),
  fsync: z.boolean().default(false),
  'strict-actions': z.boolean().default(false),
  store: z
    .string()
    .regex(/^postgres(ql)?:\/\//i, 'give a PostgreSQL URL, postgres://USER:PASSWORD@HOST:PORT/DATABASE (the data stays in --data without it)')
    .optional(),
})

const loopback = new Set(['127.0.0.1', 'localhost', '::1'])

/** Parses argv (and LOCALBOT_DATABASE_URL of `env` when `--store` is not given); raises an Error whose message names the bad flag. */
export function parseFlags(argv: string[], command: Command = 'npm start', env: Record<string, string | undefined> = {}): Flags {
  const parsed = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      bots: { type: 'string' },
      data: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      token: { type: 'string' },
      'no-http': { type: 'boolean' },
      repl: { type: 'boolean' },
      'no-repl': { type: 'boolean' },
      bot: { type: 'string' },
      'virtual-clock': { type: 'boolean' },
      'no-watch': { type: 'boolean' },
      'handler-timeout': { type: 'string' },
      fsync: { type: 'boolean' },
      'strict-actions': { type: 'boolean' },
      store: { type: 'string' },
    },
  })
  const { positionals } = parsed
  const values = { ...parsed.values, store: parsed.values.store ?? (env.LOCALBOT_DATABASE_URL || undefined) }
  const result = schema.safeParse(values)
  if (!result.success) {
    const issue = result.error.issues[0]!
    throw new Error(`--${issue.path.join('.')}: ${issue.message}`)
  }
  const v = result.data
  if (positionals.length > 1) throw new Error(`one DIR at most, not ${positionals.length}: ${positionals.join(' ')}`)
  const dir = positionals[0]
  if (dir !== undefined && v.bots !== undefined) throw new Error(`DIR ${dir} and --bots ${v.bots}: give one of them`)
  if (dir === '') throw new Error('DIR: an empty path')
  const run: Flags['run'] = v.bots !== undefined ? { bots: v.bots } : dir !== undefined || command === 'localbot' ? { dir: dir ?? '.' } : { bots: 'bots' }
  if (!loopback.has(v.host) && v.token === undefined && !v['no-http'])
    throw new Error(`--host ${v.host}: binding beyond loopback needs --token T (clients then send Authorization: Bearer T)`)
  return {
    run,
    data: v.data ?? ('dir' in run ? join(run.dir, '.localbot') : 'data'),
    port: v.port,
    host: v.host,
    token: v.token,
    http: !v['no-http'],
    repl: v['no-repl'] ? false : v.repl,
    bot: v.bot,
    virtualClock: v['virtual-clock'],
    watch: !v['no-watch'],
    handlerTimeout: v['handler-timeout'],
    fsync: v.fsync,
    strictActions: v['strict-actions'],
    store: v.store,
  }
}
