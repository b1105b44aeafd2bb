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
