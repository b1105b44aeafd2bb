/**
 * Row 3: messages/s handled in-process, awaited one after another, over 100 conversations in turn:
 * Dispatcher.sendMessage to a bot whose handler does getOrSetState + setState + one reply, vs the raw
 * floor of the same message (raw.ts: one get, one batch with the message, the state and the reply).
 * Each side has its own LevelDB folder. The fsync row runs the same sides, built here.
 */
import { startRuntime } from '../../../runtime/runtime.ts'
import { Store, type StoreOptions } from '../../../runtime/store/store.ts'
import { systemClock } from '../../../runtime/time/clock.ts'
import { alternate, opsPerSecond, type Rounds } from '../compare.ts'
import { openRaw, rawHandler } from '../raw.ts'
import { result, type Mode, type Row, type Target } from '../row.ts'
import { benchBots, nth, quietLogger } from '../seed.ts'
import { tempDir } from '../tmp.ts'

/** Conversations the messages go to in turn. */
export const CONVERSATIONS = 100

/** The i-th message of a run: conversations in turn, each with its own user. */
export function nthMessage(i: number) {
  const c = i % CONVERSATIONS
  return { userId: nth('user', c), conversationId: nth('conv', c), text: `hello number ${100000 + (i % 900000)}` }
}

/** How much one round of a side runs: `count` messages, or fewer when `maxMs` (ms) runs out. */
export type Budget = { count: number; maxMs: number }

/** One side of the dispatch job: `round` measures msg/s over the next messages of its run. */
export type DispatchSide = { round: () => Promise<number>; close: () => Promise<void> }

/** The dispatch row's budget and rounds in `mode`. */
export function dispatchPlan(mode: Mode): { budget: Budget; rounds: Rounds } {
  return mode === 'quick' ? { budget: { count: 2000, maxMs: 3000 }, rounds: { warmup: 1, rounds: 5 } } : { budget: { count: 5000, maxMs: 8000 }, rounds: { warmup: 2, rounds: 9 } }
}

/** The dispatch row's target: localbot's msg/s over the raw floor's. */
export const dispatchTarget: Target = { on: 'ratio', op: '>=', bound: 0.4 }

/** localbot's side; `keysPerMessage` handles `count` more messages and says how many keys each wrote on average. */
export type LocalbotSide = DispatchSide & { keysPerMessage: (count: number) => Promise<number> }

/** localbot handling the row's messages, the `counter` bot over a store in a new folder opened with `options`. */
export async function localbotSide(label: string, budget: Budget, options: StoreOptions = {}): Promise<LocalbotSide> {
  const store = await Store.open(await tempDir(label), options)
  const runtime = await startRuntime({ ...benchBots, store, clock: systemClock, logger: quietLogger() })
  if (runtime.failures.length > 0) throw runtime.failures[0]
  let n = 0
  const send = () => {
    const { userId, conversationId, text } = nthMessage(n++)
    return runtime.dispatcher.sendMessage('counter', { userId, conversationId, type: 'text', payload: { text } })
  }
  const round = () => opsPerSecond(budget.count, budget.maxMs, send)
  const keysPerMessage = async (count: number) => {
    let keys = 0
    const stop = store.observe((ops) => (keys += ops.length))
    for (let i = 0; i < count; i++) await send()
    stop()
    return keys / count
  }
  return { round, keysPerMessage, close: () => runtime.close() }
}

/**
 * The raw floor of the row's messages over LevelDB in a new folder, each batch written with `sync` as
 * asked and holding `keys` keys (the row's three records unless told).
 */
export async function rawSide(label: string, budget: Budget, options: { sync: boolean; keys?: number }): Promise<DispatchSide> {
  const raw = await openRaw(await tempDir(label))
  const handle = rawHandler(options)
  let m = 0
  const round = () => opsPerSecond(budget.count, budget.maxMs, () => handle(raw, 'counter', nthMessage(m++)))
  return { round, close: () => raw.close() }
}

export const row: Row = {
  name: 'dispatch',
  async run(mode: Mode) {
    const { budget, rounds } = dispatchPlan(mode)
    const local = await localbotSide('dispatch-local', budget)
    const raw = await rawSide('dispatch-raw', budget, { sync: false })
    const medians = await alternate(rounds, local.round, raw.round)
    await local.close()
    await raw.close()
    return [
      result({
        name: 'dispatch',
        value: medians.local,
        unit: 'msg/s',
        baseline: medians.baseline,
        target: dispatchTarget,
        note: 'sendMessage → getOrSetState + setState + createMessage, vs one get + one batch of message, state, reply',
      }),
    ]
  },
}
