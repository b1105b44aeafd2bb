/**
 * `npm start`: every bot of `bots/` (or `--bots DIR`, or DIR: one bot or a folder of bots), data in `data/`.
 * The program is start.ts, which the installed package's `localbot` (cli.ts) runs too.
 */
import { start } from './start.ts'

await start('npm start', process.argv.slice(2))
