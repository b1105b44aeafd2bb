import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { createClient } from '../runtime/client/index.ts'
import { Store } from '../runtime/store/store.ts'
import { systemClock } from '../runtime/time/clock.ts'

/** `npm start`'s entry over the example bots; resolves with its URL. */
function start(data: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/main.ts', '--data', data, '--port', '0', '--no-repl', '--no-watch'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  })
  let out = ''
  child.stderr.on('data', (chunk) => (out += chunk))
  const exit = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)))
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match) resolve(match[1]!)
    })
    void exit.then(() => reject(new Error(`exited: ${out}`)))
  })
  return { child, ready, exit }
}

type Answer = { conversationId: string; message: { id: string }; replies: { id: string; payload: { text: string } }[] }

describe('a localbot killed with SIGKILL', () => {
  it('keeps every message it answered, with its reply, its handled event, and the state the bot wrote', async () => {
    const data = await mkdtemp(join(tmpdir(), 'localbot-kill-'))
    try {
      const run = start(data)
      const url = await run.ready
      const answered: Answer[] = []
      let stop = false
      // Ten conversations talking at once; the kill lands while some are in flight.
      const talkers = Array.from({ length: 10 }, async (_, c) => {
        for (let i = 0; !stop; i++) {
          const res = await fetch(`${url}/bots/echo/messages`, { method: 'POST', body: JSON.stringify({ userId: `u${c}`, conversationId: `c${c}`, text: `m${i}` }) }).catch(() => undefined)
          if (!res) return
          if (res.status === 200) answered.push((await res.json()) as Answer)
        }
      })
      while (answered.length < 200) await new Promise((resolve) => setImmediate(resolve))
      run.child.kill('SIGKILL')
      stop = true
      assert.equal(await run.exit, 'SIGKILL')
      await Promise.all(talkers)

      const store = await Store.open(data)
      try {
        const client = createClient({ store, botId: 'echo', clock: systemClock })
        for (const answer of answered) {
          assert.ok(await client.getMessage({ id: answer.message.id }), 'the message')
          for (const reply of answer.replies) assert.equal((await client.getMessage({ id: reply.id })).message.payload.text, reply.payload.text)
          const { events } = await client.listEvents({ messageId: answer.message.id })
          assert.deepEqual(events.map((e) => e.status), ['processed'])
        }
        // echo counts messages per conversation in a state: it holds at least every answered count.
        for (let c = 0; c < 10; c++) {
          const counts = answered.filter((a) => a.conversationId === `c${c}`).map((a) => Number(/^#(\d+)/.exec(a.replies[0]!.payload.text)![1]))
          if (counts.length === 0) continue
          const { states } = await client.listStates({ type: 'conversation', id: `c${c}` })
          assert.ok(states.some((s) => Object.values(s.payload).some((v) => typeof v === 'number' && v >= Math.max(...counts))), `conversation c${c}`)
        }
      } finally {
        await store.close()
      }
    } finally {
      await rm(data, { recursive: true, force: true })
    }
  })
})
