/**
 * What `npm start` and `npx localbot` run: DIR, one bot or a folder of bots, or `--bots`; where the data goes; and
 * a bot run on its own reloading when edited (test/package.test.ts runs the installed command itself).
 */
import assert from 'node:assert/strict'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { parseFlags } from '../runtime/flags.ts'
import { createLogger } from '../runtime/log.ts'
import { findBotFolders } from '../runtime/bots/loader.ts'
import { findProject } from '../runtime/project.ts'
import { startRuntime } from '../runtime/runtime.ts'
import { Store, type Db } from '../runtime/store/store.ts'
import { VirtualClock } from '../runtime/time/clock.ts'

describe('what runs, and where its data goes', () => {
  it('npm start with no DIR runs bots/ with its data in data/, as it always has', () => {
    const flags = parseFlags([])
    assert.deepEqual(flags.run, { bots: 'bots' })
    assert.equal(flags.data, 'data')
  })

  it('localbot with no DIR runs the current folder, with its data in ./.localbot', () => {
    const flags = parseFlags([], 'localbot')
    assert.deepEqual(flags.run, { dir: '.' })
    assert.equal(flags.data, '.localbot')
  })

  it('a DIR keeps its data in DIR/.localbot unless --data says otherwise; --bots keeps data/', () => {
    assert.equal(parseFlags(['../my-bot', '--port', '0'], 'localbot').data, join('..', 'my-bot', '.localbot'))
    assert.equal(parseFlags(['my-bot', '--data', '/var/lib/bot'], 'localbot').data, '/var/lib/bot')
    assert.deepEqual(parseFlags(['--bots', 'elsewhere'], 'localbot'), parseFlags(['--bots', 'elsewhere']))
    assert.equal(parseFlags(['--bots', 'elsewhere'], 'localbot').data, 'data')
  })

  it('DIR with --bots, or two DIRs, is an error naming them', () => {
    assert.throws(() => parseFlags(['a', '--bots', 'b'], 'localbot'), /DIR a and --bots b/)
    assert.throws(() => parseFlags(['a', 'b'], 'localbot'), /one DIR at most/)
  })
})

describe('DIR: one bot or a folder of bots', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'localbot-project-'))
    await cp('bots/echo', join(dir, 'fleet', 'echo'), { recursive: true })
    await mkdir(join(dir, 'fleet', 'node_modules', 'left-pad'), { recursive: true })
    await mkdir(join(dir, 'fleet', '.localbot'))
    // A repository's other folders: no definition, no entry file.
    await mkdir(join(dir, 'fleet', 'docs'))
    await writeFile(join(dir, 'fleet', 'docs', 'README.md'), '# notes\n')
    await mkdir(join(dir, 'my-bot', 'src'), { recursive: true })
    await writeFile(join(dir, 'my-bot', 'src', 'index.ts'), await readFile('bots/echo/index.ts', 'utf8'))
    await mkdir(join(dir, 'empty'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('a folder with src/index.ts is one bot, named after its folder; its parent is not looked at', async () => {
    const project = await findProject({ dir: join(dir, 'my-bot') })
    assert.deepEqual(project.folders, [{ id: 'my-bot', dir: join(dir, 'my-bot') }])
    assert.match(project.summary!, /^one bot, my-bot, in /)
  })

  it('any other folder is a folder of bots, whose node_modules, .localbot and folders without bot files are no bots', async () => {
    const project = await findProject({ dir: join(dir, 'fleet') })
    assert.equal(project.botsDir, join(dir, 'fleet'))
    assert.equal(project.folders, undefined)
    assert.match(project.summary!, /^a folder of 1 bot \(echo\) in /)
    const skipped: string[] = []
    assert.deepEqual((await findBotFolders(join(dir, 'fleet'), skipped)).map((f) => f.id), ['echo'])
    assert.deepEqual(skipped, ['docs'])
  })

  it('a folder with no bot in it, or no folder at all, is refused in one sentence', async () => {
    await assert.rejects(findProject({ dir: join(dir, 'empty') }), /is neither a bot .* nor a folder of bots/)
    await assert.rejects(findProject({ dir: join(dir, 'nowhere') }), /nowhere is not a folder/)
  })

  it('a bot run on its own reloads when edited', async () => {
    const lines: Record<string, unknown>[] = []
    let heard: (() => void) | undefined
    const logger = createLogger({
      sink: {
        json: true,
        write: (text) => {
          lines.push(JSON.parse(text) as Record<string, unknown>)
          if (lines.at(-1)!.msg === 'bot reloaded') heard?.()
        },
      },
    })
    const project = await findProject({ dir: join(dir, 'my-bot') })
    const store = await Store.over(new MemoryLevel<string, string>() as unknown as Db)
    const runtime = await startRuntime({ ...project, store, clock: new VirtualClock(), logger })
    const stop = runtime.watch()
    const say = async () => (await runtime.dispatcher.sendMessage('my-bot', { userId: 'u', conversationId: 'c', payload: { text: 'hi' } })).replies[0]!.payload.text
    assert.equal(await say(), '#1 hi')
    const reloaded = new Promise<void>((done) => (heard = done))
    const file = join(dir, 'my-bot', 'src', 'index.ts')
    await writeFile(file, (await readFile(file, 'utf8')).replace('`#${count} ', '`v2 #${count} '))
    await reloaded
    assert.equal(await say(), 'v2 #2 hi')
    stop()
    await runtime.close()
  })
})
