import { readFileSync } from 'node:fs'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

/** Starts `npm start`'s entry with flags; resolves with the URL once it prints `listening on`. */
function start(args: string[]): { child: ChildProcess; ready: Promise<string>; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } })
  let out = ''
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      out += chunk
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match) resolve(match[1]!)
    })
    child.stderr!.on('data', (chunk) => (out += chunk))
    void exit.then((code) => reject(new Error(`exited ${code}: ${out}`)))
  })
  ready.catch(() => undefined)
  return { child, ready, output: () => out, exit }
}

describe('npm start', () => {
  let data: string
  before(async () => (data = await mkdtemp(join(tmpdir(), 'localbot-process-'))))
  after(async () => rm(data, { recursive: true, force: true }))

  it('serves the example bots, refuses a second process on the same data folder, and stops cleanly on SIGTERM', async () => {
    const first = start(['--data', data, '--port', '0', '--no-watch', '--no-repl'])
    const url = await first.ready
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
    const health = (await (await fetch(`${url}/health`)).json()) as { status: string; bots: string[] }
    assert.deepEqual(health, { status: 'ok', bots: ['echo', 'support'] })
    const reply = (await (
      await fetch(`${url}/bots/echo/messages`, { method: 'POST', body: JSON.stringify({ userId: 'u1', conversationId: 'c1', text: 'hello' }) })
    ).json()) as { replies: { payload: { text: string } }[] }
    assert.equal(reply.replies[0]!.payload.text, '#1 hello')

    const second = start(['--data', data, '--port', '0', '--no-repl'])
    assert.equal(await second.exit, 1)
    assert.match(second.output(), /data folder .* is in use by another localbot/)
    assert.doesNotMatch(second.output(), /\n\s+at /, 'no stack trace')

    first.child.kill('SIGTERM')
    assert.equal(await first.exit, 0)

    // The data survived the restart: the counter goes on.
    const third = start(['--data', data, '--port', '0', '--no-watch', '--no-repl'])
    const url3 = await third.ready
    const again = (await (
      await fetch(`${url3}/bots/echo/messages`, { method: 'POST', body: JSON.stringify({ userId: 'u1', conversationId: 'c1', text: 'again' }) })
    ).json()) as { replies: { payload: { text: string } }[] }
    assert.equal(again.replies[0]!.payload.text, '#2 again')
    third.child.kill('SIGINT')
    assert.equal(await third.exit, 0)
  })

  // npm runs a script with `sh -c SCRIPT` and forwards SIGTERM to that shell: a shell that waits for node
  // instead of becoming it dies of the signal, npm reports the script killed (143) and localbot runs on,
  // orphaned. (Checked by hand: with exec, SIGTERM to npm exits 0. Driving npm or the shell from this suite
  // hung in some full runs, with localbot listening and its output never arriving, so the script is read.)
  it("npm start's script hands the shell's place to localbot (exec), so that npm's SIGTERM reaches it", () => {
    const script = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start
    assert.match(script, /^exec node /)
  })

  it('a bad flag is a clear error with exit 2', async () => {
    const run = start(['--port', 'many'])
    assert.equal(await run.exit, 2)
    assert.match(run.output(), /--port/)
  })
})
