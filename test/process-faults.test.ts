import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

/** A real localbot process over the fault bots; resolves `ready` with its URL. */
function start(data: string, flags: string[] = []) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'runtime/main.ts', '--bots', 'test/fixtures/fault-bots', '--data', data, '--port', '0', '--no-repl', '--no-watch', ...flags],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } },
  )
  let out = ''
  const waiters: { pattern: RegExp; resolve: () => void }[] = []
  const seen = (chunk: Buffer) => {
    out += chunk
    for (const w of [...waiters]) if (w.pattern.test(out)) w.resolve()
  }
  child.stdout.on('data', seen)
  child.stderr.on('data', seen)
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  /** Resolves once the output matches `pattern`; fails if the process ends first. */
  const waitFor = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      if (pattern.test(out)) return resolve()
      waiters.push({ pattern, resolve })
      void exit.then(() => (pattern.test(out) ? resolve() : reject(new Error(`exited before ${pattern}: ${out}`))))
    })
  const ready = waitFor(/listening on http:\/\/\S+/).then(() => /listening on (http:\/\/\S+)/.exec(out)![1]!)
  return { child, ready, exit, waitFor, output: () => out }
}

const send = (url: string, bot: string, text: string, conversationId = 'c1') =>
  fetch(`${url}/bots/${bot}/messages`, { method: 'POST', body: JSON.stringify({ userId: 'u1', conversationId, text }) })

describe('a bot that misbehaves outside its handlers, in a real process', () => {
  let data: string
  before(async () => (data = await mkdtemp(join(tmpdir(), 'localbot-faults-'))))
  after(async () => rm(data, { recursive: true, force: true }))

  it('a throw in a timer and an unhandled rejection are logged with the bot, and every bot goes on', async () => {
    const run = start(data)
    const url = await run.ready
    assert.equal((await send(url, 'wild', 'throw-later')).status, 200)
    await run.waitFor(/thrown in a timer/)
    assert.equal((await send(url, 'wild', 'reject-later')).status, 200)
    await run.waitFor(/rejected with nobody listening/)
    const lines = run.output()
    assert.match(lines, /uncaught exception in bot code[^\n]*"bot":"wild"|uncaught exception in bot code[^\n]*bot=wild/)
    assert.match(lines, /unhandled rejection in bot code[^\n]*"bot":"wild"|unhandled rejection in bot code[^\n]*bot=wild/)
    const reply = (await (await send(url, 'quick', 'still here?')).json()) as { replies: { payload: { text: string } }[] }
    assert.equal(reply.replies[0]!.payload.text, 'quick still here?')
    run.child.kill('SIGTERM')
    assert.deepEqual(await run.exit, { code: 0, signal: null })
  })

  it('a handler that spins past the time limit ends the process, named; the next start marks it failed and serves', async () => {
    const run = start(data, ['--handler-timeout', '2'])
    const url = await run.ready
    void send(url, 'wild', 'spin', 'spinning').catch(() => undefined)
    await run.waitFor(/about to spin/)
    const { signal } = await run.exit
    assert.equal(signal, 'SIGKILL')
    assert.match(run.output(), /a handler is spinning/)
    assert.match(run.output(), /ending the process: a handler blocked the event loop past the handler time limit/)
    assert.match(run.output(), /wild/)

    const again = start(data, ['--handler-timeout', '2'])
    const url2 = await again.ready
    assert.match(again.output(), /the last run ended on a spinning handler/)
    const reply = (await (await send(url2, 'wild', 'calm')).json()) as { replies: { payload: { text: string } }[] }
    assert.equal(reply.replies[0]!.payload.text, 'wild calm')
    await again.ready
    // The spinning message, if it reached the disk before the loop began, is marked failed, not run again.
    assert.doesNotMatch(again.output(), /about to spin/)
    again.child.kill('SIGTERM')
    assert.equal((await again.exit).code, 0)
  })

  it('SIGTERM while a handler spins still ends the process, saying why', async () => {
    const run = start(data)
    const url = await run.ready
    void send(url, 'wild', 'spin', 'spinning-2').catch(() => undefined)
    await run.waitFor(/about to spin/)
    run.child.kill('SIGTERM')
    const { signal } = await run.exit
    assert.equal(signal, 'SIGKILL')
    assert.match(run.output(), /a stop was asked while a handler blocked the event loop/)
  })
})
