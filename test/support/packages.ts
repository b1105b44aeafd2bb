import { cpSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'

/**
 * Puts the packages a fixture bot adds into its `bp_modules/`, as `bp add` would download them: our own
 * fixture packages (test/fixtures/packages), kept out of git there as Botpress projects keep bp_modules out.
 */
export function addPackages(botDir: string, names: string[]): void {
  for (const name of names) {
    const target = join(botDir, 'bp_modules', name)
    mkdirSync(target, { recursive: true })
    cpSync(resolve('test/fixtures/packages', name), target, { recursive: true })
  }
}
