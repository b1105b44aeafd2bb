/**
 * Row 3: messages/s handled in-process, awaited one after another, over 100 conversations in turn:
 * Dispatcher.sendMessage to a bot whose handler does getOrSetState + setState + one reply, vs the raw
 * floor of the same message (raw.ts: one get, one batch with the message, the state and the reply).
 * Each side has its own LevelDB folder.
 */
import { startRuntime } from '../../../runtime/runtime.ts'
import { Store } from '../../../runtime/store/store.ts'
import { systemClock } from '../../../runtime/time/clock.ts'
import { alternate, opsPerSecond } from '../compare.ts'
import { openRaw, rawHandle } from '../raw.ts'
import { result, type Mode, type Row } from '../row.ts'
import { benchBots, nth, quietLogger } from '../seed.ts'
import { tempDir } from '../tmp.ts'

const CONVERSATIONS = 100

/** The i-th message of a run: conversations in turn, each with its own user. */
export function nthMessage(i: number) {
  const c = i % CONVERSATIONS
  return { userId: nth('user', c), conversationId: nth('conv', c), text: `hello number ${100000 + (i % 900000)}` }
}

export const row: Row = {
  name: 'dispatch',
  async run(mode: Mode) {
    const store = await Store.open(await tempDir('dispatch-local'))
    const runtime = await startRuntime({ ...benchBots, store, clock: systemClock, logger: quietLogger() })
    if (runtime.failures.length > 0) throw runtime.failures[0]
    const raw = await openRaw(await tempDir('dispatch-raw'))
    const count = mode === 'quick' ? 2000 : 5000
    const maxMs = mode === 'quick' ? 3000 : 8000
    let n = 0
    const local = () =>
      opsPerSecond(count, maxMs, () => {
        const { userId, conversationId, text } = nthMessage(n++)
        return runtime.dispatcher.sendMessage('counter', { userId, conversationId, type: 'text', payload: { text } })
      })
    let m = 0
    const baseline = () => opsPerSecond(count, maxMs, () => rawHandle(raw, 'counter', nthMessage(m++)))
    const rounds = mode === 'quick' ? { warmup: 1, rounds: 5 } : { warmup: 2, rounds: 9 }
    const medians = await alternate(rounds, local, baseline)
    await runtime.close()
    await raw.close()
    return [
      result({
        name: 'dispatch',
        value: medians.local,
        unit: 'msg/s',
        baseline: medians.baseline,
        target: { on: 'ratio', op: '>=', bound: 0.4 },
        note: 'sendMessage → getOrSetState + setState + createMessage, vs one get + one batch of message, state, reply',
      }),
    ]
  },
}
