import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { Store, type Db } from '../../runtime/store/store.ts'

/** A store backend the one compliance suite runs on. */
export type Backend = { name: string; open(): Promise<{ store: Store; close(): Promise<void> }> }

/** classic-level in a temp folder, and memory-level: every store and client suite runs on both. */
export const backends: Backend[] = [
  {
    name: 'classic-level',
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'localbot-test-'))
      const store = await Store.open(dir)
      return {
        store,
        async close() {
          await store.close()
          await rm(dir, { recursive: true, force: true })
        },
      }
    },
  },
  {
    name: 'memory-level',
    async open() {
      const store = await Store.over(new MemoryLevel<string, string>() as unknown as Db)
      return { store, close: () => store.close() }
    },
  },
]
