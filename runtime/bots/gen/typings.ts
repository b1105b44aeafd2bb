/**
 * The type modules of `.botpress/implementation/typings`: a bot's `TBot` (states, events, actions, tables,
 * workflows, integrations), an integration's `TIntegration` and a plugin's `TPlugin`, from their definitions'
 * zui schemas. The definitions are read structurally: they come from whichever SDK copy the bot loaded.
 */
import { inFolder, namedRecord, recordModule, schemaModule, typeModule, type Field, type Module, type Schema } from './module.ts'

type SchemaDefinition = { schema: Schema }
type StateDefinition = SchemaDefinition & { type: string }
type ActionDefinition = { input: SchemaDefinition; output: SchemaDefinition }
type WorkflowDefinition = ActionDefinition & { tags?: Record<string, unknown> }
type Tagged = { tags?: Record<string, unknown> }
type ChannelDefinition = {
  messages?: Record<string, SchemaDefinition>
  message?: Tagged
  conversation?: Tagged & { creation?: unknown }
}

/** What the generator reads of an integration's definition (an integration package's `definition`). */
export type IntegrationDefinition = {
  name: string
  version: string
  /** localbot's stand-in for a package `bp add` has not downloaded. */
  simulated?: boolean
  configuration?: Partial<SchemaDefinition>
  configurations?: Record<string, Partial<SchemaDefinition>>
  actions?: Record<string, ActionDefinition>
  channels?: Record<string, ChannelDefinition>
  events?: Record<string, SchemaDefinition>
  states?: Record<string, StateDefinition>
  entities?: Record<string, SchemaDefinition>
  user?: Tagged & { creation?: unknown }
}

/** What the generator reads of a plugin's definition. */
export type PluginDefinition = {
  name: string
  version: string
  simulated?: boolean
  configuration?: Partial<SchemaDefinition>
  states?: Record<string, StateDefinition>
  events?: Record<string, SchemaDefinition>
  actions?: Record<string, ActionDefinition>
  tables?: Record<string, SchemaDefinition>
  workflows?: Record<string, WorkflowDefinition>
}

/** The parts of a bot that `TBot` types: the definition's, with its plugins' merged in (`withPlugins`). */
export type BotParts = {
  states: Record<string, StateDefinition>
  events: Record<string, SchemaDefinition>
  actions: Record<string, ActionDefinition>
  tables: Record<string, SchemaDefinition>
  workflows: Record<string, WorkflowDefinition>
  integrations: Record<string, IntegrationDefinition>
}

/** A state name the definition does not declare takes any JSON, in any of the four scopes. */
const UNDECLARED_STATE = '[name: string]: { type: "conversation" | "user" | "bot" | "workflow"; payload: any }'

/**
 * An event name the definition does not declare takes any JSON payload, as undeclared states do: the
 * reference page handles events (`dailyReport`, ...) that its snippets never declare.
 */
const UNDECLARED_EVENT = '[name: string]: any'

const literal = (value: unknown) => JSON.stringify(value ?? {})

function schemas(name: string, definitions: Record<string, SchemaDefinition>, head: string[] = []): Module {
  return namedRecord(name, definitions, (file, type, d) => schemaModule(file, type, d.schema), head)
}

function states(definitions: Record<string, StateDefinition>, head: string[] = []): Module {
  const state = (file: string, type: string, d: StateDefinition) =>
    inFolder(file, recordModule(type, [['type', literal(d.type)], ['payload', schemaModule('payload', 'Payload', d.schema)]]))
  return namedRecord('States', definitions, state, head)
}

function inputOutput(d: ActionDefinition): Array<[string, Field]> {
  return [
    ['input', schemaModule('input', 'Input', d.input.schema)],
    ['output', schemaModule('output', 'Output', d.output.schema)],
  ]
}

function actions(definitions: Record<string, ActionDefinition>, head: string[] = []): Module {
  return namedRecord('Actions', definitions, (file, type, d) => inFolder(file, recordModule(type, inputOutput(d))), head)
}

/**
 * A package localbot simulates (bp_modules/NAME not downloaded) declares no actions or events: any name takes
 * any input and gives any output, so that a bot calling them type-checks until `bp add` brings the real types.
 */
const ANY_ACTION = '[name: string]: { input: any; output: any }'
const ANY_EVENT = '[name: string]: any'
const permissive = (d: { simulated?: boolean }, line: string) => (d.simulated ? [line] : [])

function workflows(definitions: Record<string, WorkflowDefinition>): Module {
  const workflow = (file: string, type: string, d: WorkflowDefinition) => {
    const tags = Object.keys(d.tags ?? {}).map((tag) => `${JSON.stringify(tag)}: string`)
    return inFolder(file, recordModule(type, [...inputOutput(d), ['tags', typeModule('tags', 'Tags', `{ ${tags.join('; ')} }`)]]))
  }
  return namedRecord('Workflows', definitions, workflow)
}

/** The configuration type; one without a schema takes nothing. */
function configuration(file: string, type: string, d: Partial<SchemaDefinition> | undefined): Module {
  return d?.schema ? schemaModule(file, type, d.schema) : typeModule(file, type, 'Record<string, never>')
}

/**
 * A simulated integration's message payloads are the standard ones, open to any further field: its real
 * definition may add some (`userId` on a hitl channel's text, `metadata` on chat's), which the bot may write.
 */
const OPEN = ' & { [key: string]: any }'

function channels(definitions: Record<string, ChannelDefinition>, open: boolean): Module {
  const message = (file: string, type: string, d: SchemaDefinition) =>
    schemaModule(file, type, d.schema, open ? OPEN : '')
  const channel = (file: string, type: string, d: ChannelDefinition) =>
    inFolder(
      file,
      recordModule(type, [
        ['messages', inFolder('messages', namedRecord('Messages', d.messages ?? {}, message))],
        ['message', literal({ tags: d.message?.tags ?? {} })],
        ['conversation', literal({ tags: d.conversation?.tags ?? {}, creation: d.conversation?.creation ?? { enabled: false, requiredTags: [] } })],
      ]),
    )
  return namedRecord('Channels', definitions, channel)
}

/** `TIntegration` of one integration: what the bot's client, events and messages are typed by. */
export function integrationTypings(d: IntegrationDefinition): Module {
  const user = { tags: d.user?.tags ?? {}, creation: d.user?.creation ?? { enabled: false, requiredTags: [] } }
  return recordModule('TIntegration', [
    ['name', literal(d.name)],
    ['version', literal(d.version)],
    ['user', literal(user)],
    ['configuration', inFolder('configuration', configuration('index', 'Configuration', d.configuration))],
    ['configurations', inFolder('configurations', namedRecord('Configurations', d.configurations ?? {}, (f, t, c) => configuration(f, `${t}Config`, c)))],
    ['actions', inFolder('actions', actions(d.actions ?? {}, permissive(d, ANY_ACTION)))],
    ['channels', inFolder('channels', channels(d.channels ?? {}, d.simulated === true))],
    ['events', inFolder('events', schemas('Events', d.events ?? {}, permissive(d, ANY_EVENT)))],
    ['states', inFolder('states', states(d.states ?? {}))],
    ['entities', inFolder('entities', schemas('Entities', d.entities ?? {}))],
  ])
}

/** `TPlugin` of one plugin: its configuration, states, events, actions, tables and workflows. */
export function pluginTypings(d: PluginDefinition): Module {
  return recordModule('TPlugin', [
    ['name', literal(d.name)],
    ['version', literal(d.version)],
    // Integrations and interfaces a plugin depends on are typed by their packages, which localbot does not read yet.
    ['integrations', '{}'],
    ['interfaces', '{}'],
    ['configuration', inFolder('configuration', configuration('index', 'Configuration', d.configuration))],
    ['states', inFolder('states', states(d.states ?? {}))],
    ['events', inFolder('events', schemas('Events', d.events ?? {}, permissive(d, ANY_EVENT)))],
    ['actions', inFolder('actions', actions(d.actions ?? {}, permissive(d, ANY_ACTION)))],
    ['tables', inFolder('tables', schemas('Tables', d.tables ?? {}))],
    ['workflows', inFolder('workflows', workflows(d.workflows ?? {}))],
  ])
}

/** `TBot`: `.botpress/implementation/typings/index.ts` and its folders. Undeclared state and event names take any JSON. */
export function botTypings(bot: BotParts, simulatedPlugins: string[] = []): Module {
  return recordModule('TBot', [
    ['integrations', inFolder('integrations', namedRecord('Integrations', bot.integrations, (file, _type, d) => inFolder(file, integrationTypings(d))))],
    ['events', inFolder('events', schemas('Events', bot.events, [UNDECLARED_EVENT]))],
    ['states', inFolder('states', states(bot.states, [UNDECLARED_STATE]))],
    // A simulated plugin's actions (`alias#name`) are unknown: any of them takes and gives anything.
    ['actions', inFolder('actions', actions(bot.actions, simulatedPlugins.map((alias) => `[name: \`${alias}#\${string}\`]: { input: any; output: any }`)))],
    ['tables', inFolder('tables', schemas('Tables', bot.tables))],
    ['workflows', inFolder('workflows', workflows(bot.workflows))],
  ])
}
