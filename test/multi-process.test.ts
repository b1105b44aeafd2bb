/**
 * Three real localbot processes on one PostgreSQL database (issue 16), one of them killed with SIGKILL under
 * load: what one process guarantees still holds across the three.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Message } from '../runtime/client/index.ts'
import { Store } from '../runtime/store/store.ts'
import { freshSchema, postgresSkip } from './support/backends.ts'
import { testClient } from './support/client.ts'

type Process = { name: string; url: string; child: ReturnType<typeof spawn>; exit: Promise<unknown>; output: () => string }

/** A localbot process over the shared bots and `store`, with a data folder of its own; resolves once it listens. */
async function start(name: string, store: string, data: string): Promise<Process> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'runtime/main.ts', '--bots', 'test/fixtures/shared-bots', '--store', store, '--data', data, '--port', '0', '--no-repl', '--no-watch'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } },
  )
  let out = ''
  child.stdout!.on('data', (chunk) => (out += chunk))
  child.stderr!.on('data', (chunk) => (out += chunk))
  const exit = new Promise((resolve) => child.on('exit', resolve))
  for (;;) {
    const listening = /listening on (http:\/\/\S+)/.exec(out)
    if (listening) return { name, url: listening[1]!, child, exit, output: () => out }
    if (child.exitCode !== null) throw new Error(`${name} exited: ${out}`)
    await new Promise((resolve) => child.stdout!.once('data', resolve).once('close', resolve))
  }
}

/** Sends a text; resolves with the answer, or undefined when the process did not answer (it was killed). */
async function send(process: Process, conversationId: string, text: string): Promise<{ message: Message; replies: Message[] } | undefined> {
  try {
    const response = await fetch(`${process.url}/bots/tally/messages`, { method: 'POST', body: JSON.stringify({ userId: 'u1', conversationId, text }) })
    if (response.status !== 200) return undefined
    return (await response.json()) as { message: Message; replies: Message[] }
  } catch {
    return undefined
  }
}

/** Every item of a list, page after page. */
async function everyPage<T>(page: (nextToken: string | undefined) => Promise<{ items: T[]; nextToken?: string }>): Promise<T[]> {
  const items: T[] = []
  for (let token: string | undefined, first = true; first || token !== undefined; first = false) {
    const next = await page(token)
    items.push(...next.items)
    token = next.nextToken
  }
  return items
}

/** Waits until `check` holds, looking every 200 ms for at most `ms`; fails with what `check` said last. */
async function eventually(ms: number, check: () => Promise<string | undefined>): Promise<void> {
  const until = Date.now() + ms
  for (;;) {
    const problem = await check()
    if (problem === undefined) return
    if (Date.now() > until) assert.fail(problem)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

describe('three localbot processes on one PostgreSQL database', { skip: postgresSkip }, () => {
  let schema: Awaited<ReturnType<typeof freshSchema>>
  const folders: string[] = []
  const processes: Process[] = []
  before(async () => (schema = await freshSchema()))
  after(async () => {
    for (const p of processes) p.child.kill('SIGKILL')
    await Promise.all(processes.map((p) => p.exit))
    await schema.drop()
    for (const folder of folders) await rm(folder, { recursive: true, force: true })
  })

  it('one killed with SIGKILL mid-load: every message handled once, in order per conversation, no update lost; an expiry fires once, a cron once a second', async () => {
    for (const name of ['a', 'b', 'c']) {
      const data = await mkdtemp(join(tmpdir(), `localbot-shared-${name}-`))
      folders.push(data)
      processes.push(await start(name, schema.url, data))
    }
    const [a, b, c] = processes as [Process, Process, Process]
    const started = Date.now()
    assert.equal((await send(a, 'expiring', 'brief'))?.replies[0]?.payload.text, 'brief set')

    // Six conversations talk in turn through the three processes (each message after the last is answered),
    // and three more get ten messages at once, spread over the three: the tally's read-pause-write would lose
    // counts if two handlers of one conversation ran at once, in one process or in two.
    const answered = new Map<string, string[]>()
    const sent = new Map<string, string[]>()
    // Sent to b and not answered: b may have stored them, and died in their handlers after some of their writes.
    const cut = new Set<string>()
    const through = async (i: number, conversation: string, text: string) => {
      const answer = await send(processes[i % 3]!, conversation, text)
      if (!answer && i % 3 === 1) cut.add(text)
      return answer
    }
    const talk = async (conversation: string, count: number) => {
      for (let i = 0; i < count; i++) {
        const text = `${conversation}-${i}`
        sent.set(conversation, [...(sent.get(conversation) ?? []), text])
        const answer = await through(i, conversation, text)
        if (answer) {
          assert.equal(answer.replies.length, 1)
          answered.set(conversation, [...(answered.get(conversation) ?? []), text])
        }
      }
    }
    const burst = async (conversation: string, count: number) => {
      const texts = Array.from({ length: count }, (_, i) => `${conversation}-${i}`)
      sent.set(conversation, texts)
      const answers = await Promise.all(texts.map((text, i) => through(i, conversation, text)))
      answered.set(conversation, texts.filter((_, i) => answers[i] !== undefined))
    }
    const load = Promise.all([
      ...['s1', 's2', 's3', 's4', 's5', 's6'].map((conversation) => talk(conversation, 24)),
      burst('p1', 10),
      burst('p2', 10),
      burst('p3', 10),
    ])
    // Mid-load, b dies without a word: its connections, locks, turns and lease go with it.
    await eventually(30_000, async () => ([...answered.values()].flat().length >= 40 ? undefined : 'the load did not get going'))
    b.child.kill('SIGKILL')
    await b.exit
    await load
    const killedAt = Date.now()

    const store = await Store.open(schema.url)
    const { client } = testClient(store, { botId: 'tally' })
    const messagesOf = async (conversationId: string) =>
      (await everyPage((nextToken) => client.listMessages({ conversationId, limit: 100, nextToken }).then((p) => ({ items: p.messages, nextToken: p.meta.nextToken })))).reverse()
    try {
      // What b had stored but not answered is handled by a or c once they see it died: in the end every
      // message stored has a reply, and the tally counted each.
      const repliesTo = (messages: Message[], text: string) => messages.filter((m) => m.direction === 'outgoing' && String(m.payload.text).endsWith(` ${text}`)).length
      await eventually(20_000, async () => {
        for (const conversation of sent.keys()) {
          const messages = await messagesOf(conversation)
          const unanswered = messages.filter((m) => m.direction === 'incoming' && repliesTo(messages, String(m.payload.text)) === 0)
          if (unanswered.length > 0) return `${conversation}: ${unanswered.length} messages without a reply`
        }
        return undefined
      })
      for (const [conversation, texts] of sent) {
        const messages = await messagesOf(conversation)
        const incoming = messages.filter((m) => m.direction === 'incoming').map((m) => String(m.payload.text))
        // Each answered message is stored once; at most the ones b never answered are missing.
        assert.equal(new Set(incoming).size, incoming.length, `${conversation}: a message stored twice`)
        for (const text of answered.get(conversation) ?? []) assert.ok(incoming.includes(text), `${conversation}: ${text} was answered and is not stored`)
        assert.ok(incoming.length <= texts.length)
        // One reply each; a handler b was cut short in runs again in full elsewhere (at least once), so its
        // writes from before the kill may be there twice.
        for (const text of incoming) if (!cut.has(text)) assert.equal(repliesTo(messages, text), 1, `${conversation}: ${text}`)
        // No update lost: the tally counted every message stored (those cut short perhaps twice).
        const { state } = await client.getState({ type: 'conversation', id: conversation, name: 'tally' })
        const tally = state.payload as { count: number; texts: string[] }
        assert.equal(tally.count, tally.texts.length, `${conversation}: the tally lost an update`)
        assert.deepEqual(new Set(tally.texts), new Set(incoming), `${conversation}: the tally lost an update`)
        const twice = tally.texts.filter((text, i) => tally.texts.indexOf(text) !== i)
        for (const text of twice) assert.ok(cut.has(text), `${conversation}: ${text} counted twice though it was answered`)
        // In order: messages sent one after another were handled in the order they were sent.
        if (conversation.startsWith('s')) {
          const order = tally.texts.filter((text) => (answered.get(conversation) ?? []).includes(text))
          assert.deepEqual(order, answered.get(conversation), `${conversation}: handled out of order`)
        }
      }

      // The state set with a 2 s expiry expired once, whichever process took it.
      await eventually(15_000, async () => ((await messagesOf('expiring')).some((m) => m.payload.text === 'brief expired') ? undefined : 'brief never expired'))
      await new Promise((resolve) => setTimeout(resolve, 1500))
      assert.equal((await messagesOf('expiring')).filter((m) => m.payload.text === 'brief expired').length, 1)

      // The cron ran in all three processes and fired once a second, not three times.
      const events = await everyPage((nextToken) =>
        client.listEvents({ type: 'tick', limit: 100, nextToken } as Parameters<typeof client.listEvents>[0]).then((p) => ({ items: p.events, nextToken: p.meta.nextToken })),
      )
      const ticks = events.map((e) => Date.parse(e.createdAt)).sort((x, y) => x - y)
      const seconds = (killedAt - started) / 1000
      assert.ok(ticks.length >= seconds / 2, `${ticks.length} ticks in ${seconds} s`)
      const gaps = ticks.slice(1).map((t, i) => t - ticks[i]!)
      assert.ok(Math.min(...gaps) > 400, `two ticks ${Math.min(...gaps)} ms apart: an occurrence fired twice`)
      assert.match(a.output() + c.output(), /finishing the work of localbot processes that died/)
    } finally {
      await store.close()
    }
  })
})
