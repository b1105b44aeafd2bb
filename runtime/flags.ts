import { parseArgs } from 'node:util'
import { z } from 'zod'

/** The flags of `npm start -- FLAGS` (CONTRACT section 5). */
export type Flags = {
  bots: string
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
}

const schema = z.object({
  bots: z.string().min(1).default('bots'),
  data: z.string().min(1).default('data'),
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
})

const loopback = new Set(['127.0.0.1', 'localhost', '::1'])

/** Parses argv; raises an Error whose message names the bad flag. */
export function parseFlags(argv: string[]): Flags {
  const { values } = parseArgs({
    args: argv,
    strict: true,
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
    },
  })
  const result = schema.safeParse(values)
  if (!result.success) {
    const issue = result.error.issues[0]!
    throw new Error(`--${issue.path.join('.')}: ${issue.message}`)
  }
  const v = result.data
  if (!loopback.has(v.host) && v.token === undefined && !v['no-http'])
    throw new Error(`--host ${v.host}: binding beyond loopback needs --token T (clients then send Authorization: Bearer T)`)
  return {
    bots: v.bots,
    data: v.data,
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
  }
}
