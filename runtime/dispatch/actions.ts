import { schemaIssues } from '../client/common.ts'
import { RuntimeError } from '../client/errors.ts'
import type { Client } from '../client/index.ts'
import type { Logger } from '../log.ts'
import type { Clock } from '../time/clock.ts'
import type { Bus } from './bus.ts'

/**
 * The actions of integrations (`slack:addReaction`) and of simulated plugins, which no cloud runs here:
 * each call is answered by a mock, the harness's (`mockAction`) before the bot folder's
 * (`localbot.mocks.ts`), and recorded. Without a mock the call answers the most plausible output the
 * action's schema allows (empty where there is none), and says once per action how to add a mock; with
 * `strict` it fails instead. A mock's output is checked against the action's output schema when the
 * package declares one.
 */

/**
 * A mock: the action's output for an input. `client` is the bot's own client, for what the real action would
 * also have done in Botpress (`slack:getOrCreateChannelConversation` creates the conversation it returns).
 */
export type ActionMock = (input: any, call: { botId: string; type: string; client: Client }) => unknown

/** One action call a bot made, as recorded. */
export type ActionCall = {
  botId: string
  type: string
  input: unknown
  /** What answered it: a mock, the schema's plausible output, or nothing (strict). */
  answeredBy: 'mock' | 'schema' | 'none'
  output?: unknown
  error?: string
  at: string
}

/** The part of a zui schema read here (the bot's own SDK copy made it, so no class is shared). */
type Schema = { safeParse(value: unknown): { success: boolean; data?: unknown; error?: { issues?: { path: (string | number)[]; message: string }[] } }; _def?: Record<string, any> }

/** What a bot brings to its action calls: its folder's mocks, and its packages' action schemas. */
export type ActionSource = {
  mocks: Record<string, ActionMock>
  /** The output schema of an action (`alias:name`), when its package declares one. */
  outputSchema(type: string): Schema | undefined
  /** Where the bot's mocks file is (said in the hint). */
  mocksFile: string
}

/** Calls kept for `.actions`, the harness and the console: the latest. */
const KEPT = 1000

export class Actions {
  private readonly mocks = new Map<string, Map<string, ActionMock>>()
  private readonly warned = new Set<string>()
  /** The latest calls, oldest first. */
  readonly calls: ActionCall[] = []
  strict: boolean

  constructor(private readonly options: { logger: Logger; bus: Bus; clock: Clock; strict?: boolean }) {
    this.strict = options.strict ?? false
  }

  /** Answers `type` of `botId` with `mock` from now on, before the bot folder's own mock. */
  mock(botId: string, type: string, mock: ActionMock): void {
    let ofBot = this.mocks.get(botId)
    if (!ofBot) this.mocks.set(botId, (ofBot = new Map()))
    ofBot.set(type, mock)
  }

  /** Answers one call, records it and announces it (`action` on the bus). */
  async call(botId: string, source: ActionSource, type: string, input: unknown, client: Client): Promise<{ output: unknown }> {
    const record: ActionCall = { botId, type, input, answeredBy: 'none', at: new Date(this.options.clock.now()).toISOString() }
    try {
      record.output = await this.answer({ botId, type, client }, source, input, record)
      return { output: record.output }
    } catch (error) {
      record.error = (error as Error).message
      throw error
    } finally {
      this.calls.push(record)
      if (this.calls.length > KEPT) this.calls.splice(0, this.calls.length - KEPT)
      this.options.bus.emit('action', record)
    }
  }

  private async answer(call: Parameters<ActionMock>[1], source: ActionSource, input: unknown, record: ActionCall): Promise<unknown> {
    const { botId, type } = call
    const schema = source.outputSchema(type)
    const mock = this.mocks.get(botId)?.get(type) ?? (Object.hasOwn(source.mocks, type) ? source.mocks[type] : undefined)
    if (mock) {
      record.answeredBy = 'mock'
      let output: unknown
      try {
        output = await mock(input, call)
      } catch (error) {
        const failure = new RuntimeError(`action ${type}: its mock threw: ${(error as Error)?.message ?? String(error)}`, { cause: error })
        // The mock's own frames say where it threw.
        const frames = (error as Error)?.stack?.split('\n').filter((line) => line.startsWith('    at '))
        if (frames?.length) failure.stack = `${failure.name}: ${failure.message}\n${frames.join('\n')}`
        // Said here, with the mock's stack: the bot may catch the error, and Botpress's SDK logs none for it.
        this.options.logger.warn(failure.message, { bot: botId, action: type, stack: failure.stack })
        throw failure
      }
      if (output === undefined) output = {}
      if (!schema) return output
      const checked = schema.safeParse(output)
      if (!checked.success) throw new RuntimeError(`action ${type}: its mock's output breaks the action's output schema: ${schemaIssues(checked.error, '(the output)')}`)
      return checked.data
    }
    const hint = `add a mock: export default { '${type}': (input) => ({ ... }) } in ${source.mocksFile}, or t.mockAction('${type}', fn) in a test`
    if (this.strict) throw new RuntimeError(`action ${type} has no mock (--strict-actions): ${hint}`)
    record.answeredBy = 'schema'
    const output = schema ? plausible(schema) : {}
    const key = `${botId}\u0000${type}`
    if (!this.warned.has(key)) {
      this.warned.add(key)
      this.options.logger.warn(`action ${type} has no mock: answered ${schema ? "with its output schema's plausible value" : 'with {}'}; ${hint}`, { bot: botId, action: type })
    }
    return output
  }
}

/**
 * The most plausible value a schema allows when nothing is known: defaults where given, empty strings, zero,
 * false, empty lists and records, the first of an enum or union, and no optional field. Falls back to `{}`
 * when the schema refuses what this builds (a refinement, a minimum length...).
 */
export function plausible(schema: Schema): unknown {
  const value = build(schema, 0)
  const checked = schema.safeParse(value)
  return checked.success ? checked.data : (value ?? {})
}

function build(schema: Schema | undefined, depth: number): unknown {
  const def = schema?._def
  if (!def || depth > 20) return undefined
  switch (def.typeName) {
    case 'ZodObject': {
      const shape = typeof def.shape === 'function' ? def.shape() : def.shape
      const object: Record<string, unknown> = {}
      for (const [key, field] of Object.entries(shape ?? {}) as [string, Schema][]) {
        const optional = field._def?.typeName === 'ZodOptional'
        if (!optional) object[key] = build(field, depth + 1)
      }
      return object
    }
    case 'ZodString':
      return ''
    case 'ZodNumber':
    case 'ZodBigInt':
      return 0
    case 'ZodBoolean':
      return false
    case 'ZodDate':
      return new Date(0).toISOString()
    case 'ZodArray':
    case 'ZodSet':
    case 'ZodTuple':
      return []
    case 'ZodRecord':
    case 'ZodMap':
      return {}
    case 'ZodNullable':
      return null
    case 'ZodDefault':
      return def.defaultValue()
    case 'ZodEnum':
      return def.values[0]
    case 'ZodNativeEnum':
      return Object.values(def.values)[0]
    case 'ZodLiteral':
      return def.value
    case 'ZodUnion':
    case 'ZodDiscriminatedUnion':
      return build([...(def.options instanceof Map ? def.options.values() : def.options)][0], depth + 1)
    case 'ZodIntersection': {
      const left = build(def.left, depth + 1)
      const right = build(def.right, depth + 1)
      return typeof left === 'object' && typeof right === 'object' ? { ...(left as object), ...(right as object) } : left
    }
    case 'ZodEffects':
      return build(def.schema, depth + 1)
    case 'ZodLazy':
      return build(def.getter(), depth + 1)
    case 'ZodReadonly':
    case 'ZodBranded':
    case 'ZodCatch':
      return build(def.innerType ?? def.type, depth + 1)
    case 'ZodPipeline':
      return build(def.in, depth + 1)
    case 'ZodOptional':
    case 'ZodUndefined':
    case 'ZodVoid':
      return undefined
    default:
      return null
  }
}
