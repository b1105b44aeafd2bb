import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { commands, startRepl } from '../runtime/faces/repl.ts'
import { script } from './support/script.ts'
import { createLogger } from '../runtime/log.ts'
import { startRuntime, type Runtime } from '../runtime/runtime.ts'
import { Store, type Db } from '../runtime/store/store.ts'
import { VirtualClock } from '../runtime/time/clock.ts'

/** The REPL in-process over a memory store: feed lines, read what it printed. */
async function inProcess(lines: string[], options: { virtual?: boolean; botId?: string } = {}) {
  const store = await Store.over(new MemoryLevel<string, string>() as unknown as Db)
  const runtime: Runtime = await startRuntime({
    botsDir: 'bots',
    store,
    clock: options.virtual === false ? { now: () => Date.UTC(2026, 0, 1) } : new VirtualClock(),
    logger: createLogger({ level: 'silent' }),
  })
  const input = new PassThrough()
  const output = new PassThrough()
  let printed = ''
  output.on('data', (c) => (printed += c))
  const exited = new Promise<void>((done) => startRepl(runtime, { input, output, interactive: false, botId: options.botId, onExit: () => done() }))
  input.end(lines.map((l) => l + '\n').join(''))
  await exited
  await runtime.close()
  return printed.trimEnd().split('\n')
}

describe('the REPL, scripted through piped stdin', () => {
  let data: string
  before(async () => (data = await mkdtemp(join(tmpdir(), 'localbot-repl-'))))
  after(async () => rm(data, { recursive: true, force: true }))

  it('reads every line, prints the replies in order as BOTID> TEXT, and exits 0 at end of input', async () => {
    const run = await script(['hello', 'again', '/reset is a message too'], ['--data', data, '--bot', 'echo'])
    assert.equal(run.code, 0, run.stderr)
    assert.deepEqual(run.stdout.trim().split('\n'), ['echo> #1 hello', 'echo> #2 again', 'echo> #3 /reset is a message too'])
  })

  it('an unknown --bot is a clear error', async () => {
    const run = await script(['hi'], ['--data', data, '--bot', 'nobody'])
    assert.equal(run.code, 2)
    assert.match(run.stderr, /--bot nobody: no such bot/)
  })
})

describe('REPL commands', () => {
  it('.help explains every command', async () => {
    const out = await inProcess(['.help'])
    for (const c of commands) assert.ok(out.some((line) => line.includes(`.${c.name}`) && line.includes(c.help)), c.name)
    // One column for the texts, after at least two spaces: no usage runs into its text.
    const lines = out.filter((line) => line.startsWith('  .'))
    const columns = new Set(lines.map((line, i) => line.indexOf(commands[i]!.help)))
    assert.equal(columns.size, 1, lines.join('\n'))
    for (const line of lines) assert.match(line, /\S {2,}\S/)
  })

  it('.bots lists the bots and .bot switches between them', async () => {
    const out = await inProcess(['.bots', '.bot support', '/prefs', '.bot nobody'])
    assert.deepEqual(out.slice(0, 2), ['* echo', '  support'])
    assert.equal(out[2], 'bot support')
    assert.match(out[3]!, /^support> Preferences: \{"language":"en"/)
    assert.match(out[4]!, /^error: unknown bot "nobody"/)
  })

  it('.user and .conv change who speaks and where; a new conversation starts counting again', async () => {
    const out = await inProcess(['one', '.conv new', 'two', '.conv first', '.user bob', 'three', '.convs', '.users'])
    assert.equal(out[0], 'echo> #1 one')
    assert.match(out[1]!, /^conversation repl-[0-9a-f]{8}$/)
    assert.equal(out[2], 'echo> #1 two')
    assert.deepEqual(out.slice(3, 6), ['conversation first', 'user bob', 'echo> #1 three'])
    assert.ok(out.includes('* first chat/channel {}'))
    assert.ok(out.includes('* bob {}'))
    assert.ok(out.includes('  user {}'))
  })

  it('.state shows the states of this conversation, of an owner, and one state', async () => {
    const out = await inProcess(['hi', 'ho', '.state', '.state bot echo', '.conv c9', 'x', '.state conversation c9 counter', '.state nope x'])
    assert.match(out[2]!, /^conversation repl-[0-9a-f]{8} counter = \{"count":2\}$/)
    assert.equal(out[3], '(no states)', 'the echo bot keeps no bot state')
    assert.deepEqual(out.slice(4), ['conversation c9', 'echo> #1 x', 'conversation c9 counter = {"count":1}', 'error: TYPE is one of conversation, user, bot, workflow'])
  })

  it('.event sends an event and says how it ended', async () => {
    const out = await inProcess(['.bot support', '.event dailyReport', '.event nobodyListens {"a":1}', '.event bad {oops'])
    assert.deepEqual(out.slice(1, 3), ['event dailyReport processed', 'event nobodyListens ignored'])
    assert.match(out[3]!, /^error: the payload is not JSON/)
  })

  it('.clock moves a virtual clock, firing what is due: an expiring session ends and says so', async () => {
    const out = await inProcess(['.bot support', '.conv c1', 'hello', '.clock +59m', '.clock +2m'])
    assert.equal(out.filter((l) => l.startsWith('support> Your support session has ended')).length, 1)
    const ended = out.findIndex((l) => l.startsWith('support> Your support session has ended'))
    assert.ok(ended > out.findIndex((l) => l.startsWith('clock ')), 'only after the hour has passed')
    assert.match(out.at(-1)!, /^clock 2026-01-01T01:01:00\.\d{3}Z$/)
  })

  it('.clock refuses to move the real clock, and unknown commands say so', async () => {
    const out = await inProcess(['.clock +1h', '.frobnicate'], { virtual: false })
    assert.deepEqual(out, ['error: the clock moves only with --virtual-clock', 'error: unknown command .frobnicate; see .help'])
  })

  it('.state, .convs and .users say so when there is nothing to show', async () => {
    const out = await inProcess(['.state', '.convs', '.users'])
    assert.deepEqual(out, ['(no states)', '(no conversations)', '(no users)'])
  })

  it('.exit stops reading', async () => {
    const out = await inProcess(['one', '.exit', 'never'])
    assert.deepEqual(out, ['echo> #1 one'])
  })
})
