/**
 * Runs one row in a process of its own (`node --expose-gc --import tsx child.ts ROW MODE`), so that no
 * row inherits another's heap, open databases or timers. Prints `RESULT <json>` per result line.
 */
import { loadRow } from './rows/index.ts'
import type { Mode } from './row.ts'
import { stopAllServers } from './serve.ts'
import { removeTempDirs } from './tmp.ts'

const [name, mode] = process.argv.slice(2) as [string, Mode]
// Past its time limit the row is sent SIGTERM: the servers it started (each in a process group of its own) stop with it.
process.on('SIGTERM', () => {
  void stopAllServers()
    .finally(() => removeTempDirs())
    .finally(() => process.exit(1))
})
try {
  const row = await loadRow(name)
  for (const r of await row.run(mode)) process.stdout.write(`RESULT ${JSON.stringify(r)}\n`)
} finally {
  await stopAllServers()
  await removeTempDirs()
}
process.exit(0)
