/**
 * Row 5: one page of 100 conversations, newest first, unfiltered and filtered by a tag that 1% of them
 * carry, at 100,000 conversations vs at 1,000 (two databases, each settled). Conversations are written
 * with the client's own ops (newConversation + writeConversationOps), one second apart; every one has a
 * `topic` tag of 20 values, and every hundredth also `segment: vip`.
 */
import { createClient, createClientContext } from '../../../runtime/client/index.ts'
import { newConversation, writeConversationOps } from '../../../runtime/client/conversations.ts'
import { Store } from '../../../runtime/store/store.ts'
import { systemClock, VirtualClock } from '../../../runtime/time/clock.ts'
import { alternate, medianMs } from '../compare.ts'
import { result, type Mode, type Row } from '../row.ts'
import { nth, seed, settle } from '../seed.ts'
import { tempDir } from '../tmp.ts'

const BOT = 'bench'

async function storeWith(conversations: number): Promise<Store> {
  const store = await Store.open(await tempDir(`list-${conversations}`))
  const clock = new VirtualClock(Date.UTC(2025, 0, 1))
  const ctx = createClientContext({ store, botId: BOT, clock })
  await seed(store, conversations, (i) => {
    clock.advance(1000)
    const tags: Record<string, string> = { topic: `topic-${i % 20}` }
    if (i % 100 === 0) tags.segment = 'vip'
    return writeConversationOps(ctx, undefined, newConversation(ctx, { id: nth('conv', i), tags }), [])
  })
  await settle(store)
  return store
}

export const row: Row = {
  name: 'list-page',
  async run(mode: Mode) {
    const big = await storeWith(100_000)
    const small = await storeWith(1_000)
    const clients = [big, small].map((store) => createClient({ store, botId: BOT, clock: systemClock }))
    const pages = mode === 'quick' ? 100 : 300
    const maxMs = mode === 'quick' ? 2000 : 5000
    const rounds = mode === 'quick' ? { warmup: 1, rounds: 5 } : { warmup: 2, rounds: 9 }
    const results = []
    for (const [name, input, note] of [
      ['list-page', { limit: 100 }, 'listConversations, first page of 100, newest first: at 100,000 conversations vs at 1,000'],
      ['list-page-tag', { limit: 100, tags: { segment: 'vip' } }, 'the same filtered by a tag 1% carry: at 1,000 conversations only 10 carry it, so that page holds 10, not 100'],
      ['list-page-tag-5', { limit: 5, tags: { segment: 'vip' } }, 'the tag-filtered page at a limit of 5: full and followed by a next page at both sizes, so only the database\'s size differs'],
    ] as const) {
      const [atBig, atSmall] = clients.map((client) => () => medianMs(pages, maxMs, () => client.listConversations(input)))
      const medians = await alternate(rounds, atBig!, atSmall!)
      results.push(result({ name, value: medians.local, unit: 'ms/page', baseline: medians.baseline, target: { on: 'ratio', op: '<=', bound: 1.5 }, note }))
    }
    await big.close()
    await small.close()
    return results
  },
}
