import assert from 'node:assert/strict'
import { cp, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { MemoryLevel } from 'memory-level'
import { createLogger } from '../runtime/log.ts'
import { startRuntime } from '../runtime/runtime.ts'
import { Store, type Db } from '../runtime/store/store.ts'
import { VirtualClock } from '../runtime/time/clock.ts'

/** A runtime over a copy of `source` (a bots folder), with its log lines and a way to wait for one. */
async function runtimeOver(source: string) {
  const botsDir = await mkdtemp(join(tmpdir(), 'localbot-reload-'))
  await cp(source, botsDir, { recursive: true })
  const lines: Record<string, unknown>[] = []
  const waiters: { msg: string; done: (line: Record<string, unknown>) => void }[] = []
  const logger = createLogger({
    sink: {
      json: true,
      write: (text) => {
        const line = JSON.parse(text) as Record<string, unknown>
        lines.push(line)
        for (const w of waiters.splice(0)) if (w.msg === line.msg) w.done(line)
        else waiters.push(w)
      },
    },
  })
  const store = await Store.over(new MemoryLevel<string, string>() as unknown as Db)
  const runtime = await startRuntime({ botsDir, store, clock: new VirtualClock(), logger })
  const next = (msg: string) => new Promise<Record<string, unknown>>((done) => waiters.push({ msg, done }))
  const close = async () => {
    await runtime.close()
    await rm(botsDir, { recursive: true, force: true })
  }
  return { runtime, botsDir, lines, next, close }
}

const say = async (runtime: Awaited<ReturnType<typeof runtimeOver>>['runtime'], botId: string, text: string) =>
  (await runtime.dispatcher.sendMessage(botId, { userId: 'u', conversationId: 'c', payload: { text } })).replies.map((r) => r.payload.text)

describe('hot reload', () => {
  it('an edited bot file serves the next message with its data kept; a broken edit is reported and the old code keeps serving', async () => {
    const t = await runtimeOver('bots')
    const stopWatching = t.runtime.watch()
    assert.deepEqual(await say(t.runtime, 'echo', 'hi'), ['#1 hi'])

    const file = join(t.botsDir, 'echo', 'index.ts')
    const source = await readFile(file, 'utf8')
    const reloaded = t.next('bot reloaded')
    // As editors save: a new file renamed over the old one. The next edit, in place, must still be seen.
    await writeFile(file + '.new', source.replace('`#${count} ', '`v2 #${count} '))
    await rename(file + '.new', file)
    assert.equal((await reloaded).bot, 'echo')
    assert.deepEqual(await say(t.runtime, 'echo', 'hi'), ['v2 #2 hi'], 'new code, same counter')

    const failed = t.next('reload failed: the previous code keeps serving')
    await writeFile(file, (await readFile(file, 'utf8')).replace('const bot = new bp.Bot', 'const bot = = new bp.Bot'))
    const failure = await failed
    assert.equal(failure.file, file)
    assert.equal(failure.line, 3)
    assert.match(String(failure.error), /Unexpected "="/)
    assert.deepEqual(await say(t.runtime, 'echo', 'hi'), ['v2 #3 hi'])
    stopWatching()
    await t.close()
  })

  it('a message in flight finishes on the old code; the next one runs the new', async () => {
    const t = await runtimeOver('test/fixtures/gate-bots')
    const gate = globalThis as { gate?: Promise<void> }
    let open!: () => void
    gate.gate = new Promise((done) => (open = done))
    const started = new Promise<void>((done) => t.runtime.bus.on('incoming', () => done()))
    const inFlight = say(t.runtime, 'gate', 'first')
    await started
    const file = join(t.botsDir, 'gate', 'index.ts')
    await writeFile(file, (await readFile(file, 'utf8')).replace("const VERSION = 'old'", "const VERSION = 'new'"))
    assert.equal(await t.runtime.reload('gate'), undefined)
    open()
    assert.deepEqual(await inFlight, ['old'])
    assert.deepEqual(await say(t.runtime, 'gate', 'second'), ['new'])
    delete gate.gate
    await t.close()
  })

  it('a hundred reloads leave the heap where it was', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const t = await runtimeOver('bots')
    for (let i = 0; i < 10; i++) assert.equal(await t.runtime.reload('support'), undefined)
    await say(t.runtime, 'support', 'warm up')
    gc()
    const before = process.memoryUsage().heapUsed
    for (let i = 0; i < 100; i++) assert.equal(await t.runtime.reload('support'), undefined)
    await say(t.runtime, 'support', 'still here')
    gc()
    const growth = process.memoryUsage().heapUsed - before
    // One load of the support bot costs about a megabyte of heap while alive; a leak would hold 100 of them.
    assert.ok(growth < 8 * 1024 * 1024, `heap grew ${(growth / 1024 / 1024).toFixed(1)} MB over 100 reloads`)
    await t.close()
  })
})
