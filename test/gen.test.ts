import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { after, describe, it } from 'node:test'
import ts from 'typescript'
import { generateBotpress, HEADER } from '../runtime/bots/gen/index.ts'

const sdk = createRequire(import.meta.url)('@botpress/sdk') as typeof import('@botpress/sdk')
const { z } = sdk
const root = resolve(import.meta.dirname, '..')

/** A plugin package as `bp add` leaves one in bp_modules: its definition, and its bundled implementation. */
const memo = {
  type: 'plugin' as const,
  name: 'memo',
  version: '0.1.0',
  implementation: Buffer.from(''),
  definition: {
    name: 'memo',
    version: '0.1.0',
    configuration: { schema: z.object({ greeting: z.string() }) },
    states: { notes: { type: 'bot' as const, schema: z.object({ lines: z.array(z.string()) }) } },
    actions: { remember: { input: { schema: z.object({ line: z.string() }) }, output: { schema: z.object({}) } } },
  },
}

/** A definition with every part a bot types: states, events, actions, workflows, secrets, a plugin; no integration. */
function supportDefinition(extraStates: Record<string, { type: 'user'; schema: ReturnType<typeof z.object> }> = {}) {
  return new sdk.BotDefinition({
    states: { counter: { type: 'conversation', schema: z.object({ count: z.number() }) }, ...extraStates },
    events: { reminder: { schema: z.object({ note: z.string() }) } },
    actions: { double: { input: { schema: z.object({ n: z.number() }) }, output: { schema: z.object({ result: z.number() }) } } },
    workflows: {
      onboard: { input: { schema: z.object({ userId: z.string() }) }, output: { schema: z.object({ ok: z.boolean() }) }, tags: { step: {} } },
    },
    secrets: { OPENAI_KEY: { description: 'the key' }, 'webhook-token': { optional: true } },
  }).addPlugin(memo, { configuration: { greeting: 'hi' }, dependencies: {} })
}

/** Bot code that uses the generated names the way Botpress bots do; every line must type-check. */
const goodBot = `import * as bp from '.botpress'

const bot = new bp.Bot({ actions: { double: async ({ input }) => ({ result: input.n * 2 }) } })

async function reply(client: bp.Client, props: bp.MessageHandlerProps, text: string) {
  const input: bp.ClientInputs['createMessage'] = { conversationId: props.conversation.id, userId: props.ctx.botId, type: 'text', payload: { text }, tags: {} }
  await client.createMessage(input)
}

bot.on.message('text', async (props) => {
  const { client, conversation, user, message } = props
  const { state } = await client.getOrSetState({ type: 'conversation', id: conversation.id, name: 'counter', payload: { count: 0 } })
  await client.setState({ type: 'conversation', id: conversation.id, name: 'counter', payload: { count: state.payload.count + 1 } })
  await client.setState({ type: 'user', id: user.id, name: 'undeclared', payload: { any: ['json', 1] } })
  await reply(client, props, message.payload.text + ' #' + state.payload.count)
})

const onReminder: bp.EventHandlers['reminder'] = async ({ event }) => {
  const note: string = event.payload.note
  void note
}
bot.on.event('reminder', onReminder)

const onboard: bp.WorkflowHandlers['onboard'] = async ({ workflow }) => {
  const userId: string = workflow.input.userId
  void userId
  await workflow.setCompleted({ output: { ok: true } })
}
bot.on.workflowStart('onboard', onboard)

export const counter: bp.TBot['states']['counter']['payload'] = { count: 1 }
export const key: string = bp.secrets.OPENAI_KEY
export const token: string | undefined = bp.secrets.WEBHOOK_TOKEN
export const greeting: string = bp.memo.configuration.greeting
export default bot
`

/** Bot code whose one fault is a state payload that breaks the state's schema. */
const badBot = `import * as bp from '.botpress'

export async function count({ client, conversation }: bp.MessageHandlerProps) {
  await client.setState({ type: 'conversation', id: conversation.id, name: 'counter', payload: { count: 'one' } })
}
`

const folders: string[] = []
after(() => Promise.all(folders.map((f) => rm(f, { recursive: true, force: true }))))

/** A bot folder in a temporary directory that sees localbot's node_modules, as a Botpress project sees its own. */
async function botFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'localbot-gen-'))
  folders.push(dir)
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
  return dir
}

/**
 * Type-checks files of a bot folder as a Botpress project's tsconfig does (`.botpress` resolved from the folder,
 * bundler resolution); the errors by file and line.
 */
function typeCheck(dir: string, files: string[]): string[] {
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    baseUrl: dir,
    paths: { '.botpress': ['./.botpress/index.ts'] },
    types: ['node'],
    typeRoots: [join(root, 'node_modules', '@types')],
  }
  const program = ts.createProgram({ rootNames: files.map((f) => join(dir, f)), options })
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${relative(dir, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start!).line + 1}` : '?'
    return `${where} TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`
  })
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)))
}

describe('generateBotpress', () => {
  it("writes a .botpress that types a bot's states, events, actions, workflows, secrets and plugins as bp gen does", async () => {
    const dir = await botFolder()
    assert.deepEqual(await generateBotpress({ dir, definition: supportDefinition() }), { written: true })

    const files = await filesUnder(join(dir, '.botpress'))
    for (const file of ['index.ts', 'implementation/index.ts', 'secrets/index.ts', 'implementation/typings/states/counter/payload.ts', 'implementation/plugins/memo/index.ts'])
      assert.ok(files.includes(file), `${file} in ${files.join(', ')}`)
    for (const file of files) assert.ok((await readFile(join(dir, '.botpress', file), 'utf8')).startsWith(HEADER), `${file} names localbot as its writer`)

    await writeFile(join(dir, 'good.ts'), goodBot)
    await writeFile(join(dir, 'bad.ts'), badBot)
    // good.ts has no error; bad.ts exactly one, at its payload.
    const errors = typeCheck(dir, ['good.ts', 'bad.ts'])
    assert.equal(errors.length, 1, errors.join('\n'))
    assert.match(errors[0]!, /^bad\.ts:4 TS2322 Type 'string' is not assignable to type 'number'/)
  })

  it('gives a Bot class that runs with its plugins wired, and secrets read from SECRET_ variables when used', async () => {
    const dir = await botFolder()
    await generateBotpress({ dir, definition: supportDefinition() })
    const bp = (await import(join(dir, '.botpress', 'index.ts'))) as {
      Bot: new (props: { actions: object }) => InstanceType<typeof sdk.Bot>
      plugins: Record<string, unknown>
      memo: { configuration: unknown }
      secrets: Record<string, string | undefined>
    }
    const bot = new bp.Bot({ actions: { double: async ({ input }: { input: { n: number } }) => ({ result: input.n * 2 }) } })
    assert.equal(typeof bot.actionHandlers.double, 'function')
    assert.ok(bp.plugins.memo instanceof sdk.Plugin)
    assert.equal((bot.props.plugins as Record<string, unknown>).memo, bp.plugins.memo)
    assert.deepEqual(bp.memo.configuration, { greeting: 'hi' })

    const { secrets } = bp
    delete process.env.SECRET_OPENAI_KEY
    delete process.env.SECRET_WEBHOOK_TOKEN
    assert.throws(() => secrets.OPENAI_KEY, /Missing required secret "OPENAI_KEY"/)
    assert.equal(secrets.WEBHOOK_TOKEN, undefined)
    process.env.SECRET_OPENAI_KEY = 'sk-1'
    assert.equal(secrets.OPENAI_KEY, 'sk-1')
    delete process.env.SECRET_OPENAI_KEY
  })

  it('leaves a .botpress that bp gen wrote as it is, and says why', async () => {
    const dir = await botFolder()
    const theirs = '/* eslint-disable */\n/* tslint:disable */\n// This file is generated. Do not edit it manually.\n\nexport * from "./implementation/index"\n'
    await mkdir(join(dir, '.botpress'))
    await writeFile(join(dir, '.botpress', 'index.ts'), theirs)

    const result = await generateBotpress({ dir, definition: supportDefinition() })
    assert.equal(result.written, false)
    assert.match(result.reason ?? '', /not written by localbot/)
    assert.equal(await readFile(join(dir, '.botpress', 'index.ts'), 'utf8'), theirs)
    assert.deepEqual(await filesUnder(join(dir, '.botpress')), ['index.ts'])
  })

  it('rewrites only the files whose content changed, and removes those no longer generated', async () => {
    const dir = await botFolder()
    const out = join(dir, '.botpress')
    await generateBotpress({ dir, definition: supportDefinition() })
    const longAgo = new Date('2020-01-01T00:00:00Z')
    const touchAll = async () => {
      for (const file of await filesUnder(out)) await utimes(join(out, file), longAgo, longAgo)
    }
    const touched = async () => {
      const changed: string[] = []
      for (const file of await filesUnder(out)) if ((await stat(join(out, file))).mtimeMs !== longAgo.getTime()) changed.push(file)
      return changed.sort()
    }

    await touchAll()
    assert.deepEqual(await generateBotpress({ dir, definition: supportDefinition() }), { written: false })
    assert.deepEqual(await touched(), [])

    // A new state: the states index and the state's own files are written, nothing else.
    const profile = { type: 'user' as const, schema: z.object({ name: z.string() }) }
    assert.deepEqual(await generateBotpress({ dir, definition: supportDefinition({ profile }) }), { written: true })
    assert.deepEqual(await touched(), [
      'implementation/typings/states/index.ts',
      'implementation/typings/states/profile/index.ts',
      'implementation/typings/states/profile/payload.ts',
    ])

    // The state removed again: its files go, with its folder.
    assert.deepEqual(await generateBotpress({ dir, definition: supportDefinition() }), { written: true })
    assert.equal(existsSync(join(out, 'implementation/typings/states/profile')), false)
  })
})
