import { readFile } from 'node:fs/promises'
import { Worker } from 'node:worker_threads'
import type { Logger } from '../log.ts'
import { heartbeat } from '../time/ticker.ts'
import type { HandlerCall } from './supervisor.ts'

/**
 * A bot that spins synchronously (`for (;;)`) holds the one thread every bot, the HTTP face and time run
 * on, and JavaScript cannot be interrupted from inside. Handlers stay on that thread (a thread hop per
 * API call measured 300 µs here, against 73 µs for a whole SDK handler call); a watchdog thread watches it
 * instead. When the main thread stops beating it:
 * - after `warnMs`, logs which handler calls were running (one of them spins);
 * - after `limitMs` (the handler time limit), or 1 s after a SIGTERM/SIGINT that the stuck thread cannot
 *   serve, writes those calls' records to `spunFile` (the next start marks them failed instead of running
 *   them again, so a spinning message does not spin every start) and ends the process with SIGKILL: what was
 *   answered is in LevelDB already, and what was not is replayed at the next start.
 */
export type Watchdog = {
  /** Publishes the handler calls in flight (the supervisor calls it on every change). */
  update(calls: HandlerCall[]): void
  /**
   * Settles once the watchdog listens for signals (or could not start): a handler that spins from then on is
   * ended 1 s after a SIGTERM. Before it, a slow machine could have a request spin while the thread was still
   * starting, and the stop waited for the whole time limit.
   */
  ready: Promise<void>
  stop(): void
}

/** Beats of the main thread, in ms. */
const BEAT_MS = 100
/** Room for the calls in flight, as JSON; past it the list is cut. */
const CALLS_BYTES = 64 * 1024

// The watchdog thread, as plain JavaScript: it runs the same from source and from a compiled package.
const source = String.raw`
const { workerData } = require('node:worker_threads')
const fs = require('node:fs')
const { warnMs, limitMs, spunFile, json } = workerData
const beat = new Int32Array(workerData.beat)
const length = new Int32Array(workerData.length)
const bytes = new Uint8Array(workerData.calls)
const write = (level, msg, fields) => {
  const line = json ? JSON.stringify({ level, msg, ...fields }) : level.toUpperCase() + ' ' + msg + Object.entries(fields).map(([k, v]) => ' ' + k + '=' + (typeof v === 'string' ? v : JSON.stringify(v))).join('')
  fs.writeSync(2, line + '\n')
}
const running = () => {
  // The main thread is stuck, so no write is under way; a changed version means one just finished.
  for (;;) {
    const version = Atomics.load(length, 1)
    const text = Buffer.from(bytes.subarray(0, Atomics.load(length, 0))).toString()
    if (version === Atomics.load(length, 1) && version % 2 === 0) return text === '' ? [] : JSON.parse(text)
  }
}
const describe = (calls) => calls.map((c) => ({ bot: c.bot, handler: c.handler, ...c.fields }))
let last = Atomics.load(beat, 0)
let since = Date.now()
let warned = false
let signalled
const end = (why) => {
  const calls = running()
  try {
    fs.writeFileSync(spunFile, JSON.stringify({ at: new Date().toISOString(), why, records: calls.map((c) => c.record).filter(Boolean), calls: describe(calls) }))
  } catch (error) {
    write('error', 'could not record the spinning handlers', { file: spunFile, error: error.message })
  }
  write('error', 'ending the process: ' + why + '; the next start marks these handlers failed instead of running them again', { running: describe(calls) })
  process.kill(process.pid, 'SIGKILL')
}
setInterval(() => {
  const now = Date.now()
  const current = Atomics.load(beat, 0)
  if (current !== last) {
    last = current
    since = now
    warned = false
    return
  }
  const stalled = now - since
  if (!warned && stalled >= warnMs) {
    warned = true
    write('warn', 'the event loop has been blocked for ' + Math.round(stalled / 1000) + ' s: a handler is spinning; nothing else runs meanwhile', { running: describe(running()) })
  }
  if (stalled >= limitMs) end('a handler blocked the event loop past the handler time limit (' + limitMs / 1000 + ' s)')
  else if (signalled !== undefined && now - signalled >= 1000 && stalled >= 1000) end('a stop was asked while a handler blocked the event loop')
}, 250)
// Signals reach the thread that listens: this one, too, while the main thread is stuck. No public API
// listens from a worker; the binding is looked up quietly, and without it a spin still ends at limitMs.
try {
  const emitWarning = process.emitWarning
  process.emitWarning = () => undefined
  const { Signal } = process.binding('signal_wrap')
  process.emitWarning = emitWarning
  for (const number of [2, 15]) {
    const signal = new Signal()
    signal.onsignal = () => { signalled ??= Date.now() }
    signal.start(number)
  }
} catch {}
// The main thread waits for this before it takes requests: a signal sent earlier would reach no listener here.
require('node:worker_threads').parentPort.postMessage('ready')
`

const encoder = new TextEncoder()
const callTexts = new WeakMap<HandlerCall, string>()

/** A call as JSON: only what the watchdog reports and records (a call also carries its logger and what it logged). */
function callJson(call: HandlerCall): string {
  let text = callTexts.get(call)
  if (text === undefined) {
    const { bot, handler, fields, record } = call
    callTexts.set(call, (text = JSON.stringify({ bot, handler, fields, record })))
  }
  return text
}

/** Starts the watchdog thread for the main thread. */
export function startWatchdog(options: { limitMs: number; warnMs?: number; spunFile: string; json: boolean }): Watchdog {
  const beat = new SharedArrayBuffer(4)
  const length = new SharedArrayBuffer(8)
  const calls = new SharedArrayBuffer(CALLS_BYTES)
  const beats = new Int32Array(beat)
  const lengths = new Int32Array(length)
  const bytes = new Uint8Array(calls)
  const worker = new Worker(source, {
    eval: true,
    workerData: { beat, length, calls, warnMs: options.warnMs ?? Math.min(2000, options.limitMs), limitMs: options.limitMs, spunFile: options.spunFile, json: options.json },
    // The watchdog needs none of the loaders the main thread runs with (tsx).
    execArgv: [],
    stdout: false,
    stderr: false,
  })
  // Held until it is ready (a start awaits that), then never keeping the process alive.
  const ready = new Promise<void>((resolve) => {
    worker.once('message', () => resolve())
    worker.once('error', () => resolve())
    worker.once('exit', () => resolve())
  }).then(() => void worker.unref())
  const stopBeat = heartbeat(() => Atomics.add(beats, 0, 1), BEAT_MS)
  return {
    ready,
    update(running) {
      // Each call's JSON is made once: the list is written at every start and end of a call.
      const texts = running.map(callJson)
      let text = `[${texts.join(',')}]`
      if (Buffer.byteLength(text) > CALLS_BYTES) text = `[${texts.slice(0, 50).join(',')}]`
      // A seqlock: odd while writing, so the watchdog never reads half a list.
      Atomics.add(lengths, 1, 1)
      const { written } = encoder.encodeInto(text, bytes)
      Atomics.store(lengths, 0, written)
      Atomics.add(lengths, 1, 1)
    },
    stop() {
      stopBeat()
      void worker.terminate()
    },
  }
}

/**
 * The records whose handlers spun at the last run (written by the watchdog). The caller removes the file
 * once the replay has marked them failed: a crash before that reads them again.
 */
export async function readSpunRecords(spunFile: string, logger: Logger): Promise<Set<string>> {
  let text: string
  try {
    text = await readFile(spunFile, 'utf8')
  } catch {
    return new Set()
  }
  try {
    const { records, calls, why } = JSON.parse(text) as { records: string[]; calls: unknown[]; why: string }
    logger.warn('the last run ended on a spinning handler: its work is marked failed, not run again', { why, calls })
    return new Set(records)
  } catch {
    return new Set()
  }
}
