/** Calls `tick` every `everyMs` ms of real time, never two at once; returns a stop function. */
export function startTicker(tick: () => Promise<void>, everyMs: number): () => void {
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  const loop = async () => {
    await tick().catch(() => undefined)
    if (!stopped) timer = setTimeout(loop, everyMs)
  }
  timer = setTimeout(loop, everyMs)
  return () => {
    stopped = true
    clearTimeout(timer)
  }
}

/** Calls `fn(key)` once `waitMs` of real time passed without another call for the same key. */
export function debounceByKey(fn: (key: string) => void, waitMs: number): ((key: string) => void) & { cancel(): void } {
  const timers = new Map<string, NodeJS.Timeout>()
  const call = (key: string) => {
    clearTimeout(timers.get(key))
    timers.set(
      key,
      setTimeout(() => {
        timers.delete(key)
        fn(key)
      }, waitMs),
    )
  }
  return Object.assign(call, { cancel: () => timers.forEach((t) => clearTimeout(t)) })
}

/** Calls `fn` every `everyMs` ms of real time without keeping the process alive; returns a stop function. */
export function heartbeat(fn: () => void, everyMs: number): () => void {
  const timer = setInterval(fn, everyMs)
  timer.unref()
  return () => clearInterval(timer)
}
