import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { startRepl, type Repl } from '../runtime/faces/repl.ts'
import { createLogger } from '../runtime/log.ts'
import { startRuntime, type Runtime } from '../runtime/runtime.ts'
import { Store, type Db } from '../runtime/store/store.ts'
import { VirtualClock } from '../runtime/time/clock.ts'

// The REPL at a terminal, driven through readline with terminal escapes (keys in, the screen out), and in a
// piped script. The echo bot answers `#N text`; the order fixture bot's handler throws on 'boom'.
const ESC = '\u001b'
const plain = (screen: string) => screen.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '')

async function repl(options: { interactive: boolean; historyFile?: string; botId?: string }) {
  const store = await Store.over(new MemoryLevel<string, string>() as unknown as Db)
  const runtime: Runtime = await startRuntime({
    botsDir: resolve('bots'),
    folders: [
      { id: 'echo', dir: resolve('bots/echo') },
      { id: 'order', dir: resolve('test/fixtures/order-bots/order') },
    ],
    store,
    clock: new VirtualClock(),
    logger: createLogger({ level: 'silent' }),
  })
  const input = new PassThrough() as PassThrough & { isTTY?: boolean; setRawMode?: () => void }
  const output = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number }
  input.isTTY = true
  input.setRawMode = () => undefined
  output.isTTY = true
  output.columns = 200
  let screen = ''
  output.on('data', (c) => (screen += c))
  let failures: number | undefined
  let exited!: Promise<void>
  let started!: Repl
  exited = new Promise<void>((done) => {
    started = startRepl(runtime, { input, output, interactive: options.interactive, botId: options.botId ?? 'echo', historyFile: options.historyFile, onExit: (n) => ((failures = n), done()) })
  })
  /** Resolves once the screen shows `text` (after everything typed so far was handled). */
  const until = async (check: (screen: string) => boolean) => {
    for (let i = 0; i < 200 && !check(plain(screen)); i++) await new Promise((r) => setImmediate(r))
    assert.ok(check(plain(screen)), `the screen never showed it:\n${plain(screen)}`)
  }
  return {
    runtime,
    repl: started,
    type: (keys: string) => input.write(keys),
    end: () => input.end(),
    screen: () => plain(screen),
    raw: () => screen,
    until,
    exited: async () => {
      await exited
      await runtime.close()
      return failures
    },
  }
}

describe('the REPL at a terminal', () => {
  it('redraws the prompt and the half-typed line after output from elsewhere', async () => {
    const t = await repl({ interactive: true })
    await t.until((s) => s.includes('echo:user> '))
    t.type('half-typ')
    await t.until((s) => s.endsWith('half-typ'))
    // A reply in another conversation (as one driven over HTTP) arrives while the user types.
    await t.runtime.dispatcher.sendMessage('echo', { userId: 'u2', conversationId: 'other', payload: { text: 'from http' } })
    await t.until((s) => s.includes('(other) echo> #1 from http'))
    const after = t.screen().split('(other) echo> #1 from http')[1]!
    assert.match(after, /echo:user> half-typ$/, 'the prompt and the half-typed line come back below it')
    t.type('ed\r')
    await t.until((s) => s.includes('echo> #1 half-typed'))
    t.type('.exit\r')
    assert.equal(await t.exited(), 0)
  })

  it('Ctrl-C clears a half-typed line; on an empty line it warns, and a second one quits', async () => {
    const t = await repl({ interactive: true })
    await t.until((s) => s.includes('echo:user> '))
    t.type('never sent')
    t.type('\u0003')
    t.type('sent\r')
    await t.until((s) => s.includes('echo> #1 sent'))
    assert.ok(!t.screen().includes('never sent\n'), 'the cleared line was not sent')
    t.type('\u0003')
    await t.until((s) => s.includes('(Ctrl-C again or .exit to quit)'))
    t.type('\u0003')
    assert.equal(await t.exited(), 0)
  })

  it('keeps its history across restarts, in the file it is given; .history lists it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'localbot-history-'))
    const historyFile = join(dir, 'repl-history')
    try {
      const first = await repl({ interactive: true, historyFile })
      first.type('first line\r')
      await first.until((s) => s.includes('echo> #1 first line'))
      first.type('.exit\r')
      await first.exited()
      assert.equal(await readFile(historyFile, 'utf8'), 'first line\n.exit\n')
      const second = await repl({ interactive: true, historyFile })
      await second.until((s) => s.includes('echo:user> '))
      // Up arrow brings back the last line of the run before.
      second.type(`${ESC}[A${ESC}[A\r`)
      await second.until((s) => s.includes('echo> #1 first line'))
      second.type('.history\r')
      await second.until((s) => /3 {2}first line/.test(s))
      assert.match(second.screen(), / {3}1 {2}first line\n {3}2 {2}\.exit\n {3}3 {2}first line\n/)
      second.type('.exit\r')
      await second.exited()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('.transcript prints the conversation, oldest first, each message readably', async () => {
    const t = await repl({ interactive: false })
    t.type('one\n.send image {"imageUrl":"https://example.com/i.png"}\n.transcript\n')
    t.end()
    assert.equal(await t.exited(), 0)
    const lines = t.screen().split('\n').filter((line) => /^\d{4}-/.test(line))
    assert.deepEqual(
      lines.map((line) => line.replace(/^\S+ /, '')),
      ['user> one', 'echo> #1 one', 'user> [image] https://example.com/i.png'],
    )
  })
})

describe('a piped REPL script', () => {
  it('counts the lines that failed (an error, a handler that threw), so that the exit status says so', async () => {
    const t = await repl({ interactive: false, botId: 'order' })
    t.type('fine\nboom\n.nocommand\nfine again\n')
    t.end()
    assert.equal(await t.exited(), 2)
    assert.match(t.screen(), /error: the bot's handler failed: handler exploded/)
    assert.match(t.screen(), /error: unknown command \.nocommand/)
  })
})
