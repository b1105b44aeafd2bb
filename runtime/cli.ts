#!/usr/bin/env node
/**
 * `npx localbot [DIR] [FLAGS]`, the installed package's command: DIR (default `.`) is one bot or a folder of
 * bots, its data in `DIR/.localbot/`; the flags are `npm start`'s. Built into dist/cli.js (scripts/build.ts).
 */
import { start } from './start.ts'

await start('localbot', process.argv.slice(2))
