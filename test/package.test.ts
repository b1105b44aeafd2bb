/**
 * localbot as a bot project gets it: `npm pack`, a scratch project that installs the tarball offline, then
 * `npx localbot` and `localbot/testing` there, for a project that is one bot and for a folder of bots. The
 * installed package runs dist/'s JavaScript: nothing here passes through tsx.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'

const root = resolve(import.meta.dirname, '..')

/**
 * npm and node as a user runs them in the scratch project: npm offline, so that every package comes from the cache
 * that this repository's `npm ci` filled. What the `npm test` running this file exported (its package, its prefix)
 * stays out, and so does the test runner's NODE_TEST_CONTEXT (a nested `node --test` would report to it, not print).
 */
const npmEnv: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !(name.startsWith('npm_') && name !== 'npm_config_cache') && name !== 'NODE_TEST_CONTEXT')),
  npm_config_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
  LOG_LEVEL: 'warn',
}

type Run = { code: number | null; stdout: string; stderr: string }

/** Runs a command in its own process group (npx starts node under it: a time-out ends both); resolves when it exits. */
function run(command: string, args: string[], options: { cwd: string; input?: string; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: npmEnv, detached: true, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (chunk) => (stdout += chunk))
    child.stderr!.on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL')
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${options.timeoutMs ?? 120_000} ms:\n${stdout}\n${stderr}`))
    }, options.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolveRun({ code, stdout, stderr })
    })
    if (options.input !== undefined) child.stdin!.end(options.input)
  })
}

/** Kills of the servers not stopped yet: one that a failed assertion left running would keep this file's process waiting. */
const running = new Set<() => void>()

/**
 * Starts `npx localbot ARGS --port 0` in `cwd`; resolves with its URL (read from `listening on`) and a stop that
 * does what Ctrl-C at a terminal does: SIGINT to the whole group (npm passes no signal on; it dies of it, while
 * localbot stops cleanly). The stop resolves with the output once every process of the group has closed it.
 */
async function serve(cwd: string, args: string[]): Promise<{ url: string; stop: () => Promise<string> }> {
  const child = spawn('npx', ['localbot', ...args, '--port', '0', '--no-repl', '--no-watch'], { cwd, env: npmEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const closed = new Promise<void>((resolveClosed) => child.on('close', () => resolveClosed()))
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // gone already
    }
  }
  running.add(kill)
  void closed.then(() => running.delete(kill))
  const within = async <T>(promise: Promise<T>, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within 60 s:\n${output}`)), 60_000)))
    try {
      return await Promise.race([promise, late])
    } catch (error) {
      kill()
      throw error
    } finally {
      clearTimeout(timer)
    }
  }
  const url = await within(
    new Promise<string>((resolveUrl, reject) => {
      child.stdout!.on('data', () => {
        const match = /listening on (http:\/\/\S+)/.exec(output)
        if (match) resolveUrl(match[1]!)
      })
      void closed.then(() => reject(new Error(`exited before listening:\n${output}`)))
    }),
    "no 'listening on'",
  )
  return {
    url,
    stop: async () => {
      process.kill(-child.pid!, 'SIGINT')
      await within(closed, 'not stopped')
      return output
    },
  }
}

/** A user's message over HTTP; resolves with the texts of the bot's replies. */
async function say(url: string, botId: string, text: string): Promise<string[]> {
  const response = await fetch(`${url}/bots/${botId}/messages`, { method: 'POST', body: JSON.stringify({ userId: 'u1', conversationId: 'c1', text }) })
  assert.equal(response.status, 200, await response.clone().text())
  const body = (await response.json()) as { replies: { payload: { text: string } }[] }
  return body.replies.map((r) => r.payload.text)
}

/** Writes files (path → text) under `dir`. */
async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), text)
  }
}

/**
 * The scratch project's package.json and a lock to start from. The package.json is a Botpress project's (`bp init`
 * names `@botpress/sdk`) with localbot's own overrides: this registry serves neither the `@botpress/client` nor the
 * zui that sdk 7.2.4 declares (see the commit that pinned them). The lock holds the packages localbot runs on, as
 * this repository's lock resolved them: npm then needs no registry metadata for them, only the cached tarballs.
 */
async function projectFiles(): Promise<Record<string, string>> {
  const own = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; overrides: Record<string, string> }
  // `$esbuild` in an override means the root project's own spec, which the scratch project does not have.
  const overrides = Object.fromEntries(Object.entries(own.overrides).map(([name, spec]) => [name, spec.startsWith('$') ? own.dependencies[spec.slice(1)]! : spec]))
  const dependencies = { '@botpress/sdk': own.dependencies['@botpress/sdk']! }
  const pkg = { name: 'my-bot', version: '1.0.0', private: true, dependencies, overrides }
  const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
  const packages = Object.fromEntries(Object.entries(lock.packages).filter(([path, entry]) => path.startsWith('node_modules/') && !entry.dev))
  const seed = { name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages: { '': { name: pkg.name, version: pkg.version, dependencies }, ...packages } }
  return { 'package.json': JSON.stringify(pkg, null, 2), 'package-lock.json': JSON.stringify(seed, null, 2) }
}

/** One bot at the project's root, as `bp init` lays it out; its conversation count expires after an hour (ms: a Botpress project). */
const oneBot = {
  'bot.definition.ts': `import * as sdk from '@botpress/sdk'

export default new sdk.BotDefinition({
  states: { count: { type: 'conversation', schema: sdk.z.object({ n: sdk.z.number() }), expiry: 3_600_000 } },
})
`,
  'src/index.ts': `import * as bp from '.botpress'

const bot = new bp.Bot({ actions: {} })

bot.on.message('text', async ({ client, ctx, conversation, message }) => {
  const { state } = await client.getOrSetState({ type: 'conversation', id: conversation.id, name: 'count', payload: { n: 0 } })
  const n = state.payload.n + 1
  await client.setState({ type: 'conversation', id: conversation.id, name: 'count', payload: { n } })
  await client.createMessage({ conversationId: conversation.id, userId: ctx.botId, type: 'text', payload: { text: \`#\${n} \${message.payload.text}\` }, tags: {} })
})

export default bot
`,
  'test/bot.test.mjs': `import assert from 'node:assert/strict'
import { test } from 'node:test'
import { testBot } from 'localbot/testing'

test('the count starts over once the conversation has been quiet for an hour', async () => {
  const bot = await testBot('.')
  assert.equal((await bot.send('hello')).replies[0].payload.text, '#1 hello')
  assert.equal((await bot.send('again')).replies[0].payload.text, '#2 again')
  await bot.advance('1h')
  assert.equal(await bot.state('conversation', 'conv-1', 'count'), undefined)
  assert.equal((await bot.send('back')).replies[0].payload.text, '#1 back')
  await bot.close()
})
`,
  // As a runner that loads tests as CommonJS (jest) requires it.
  'test/bot.test.cjs': `const assert = require('node:assert/strict')
const { test } = require('node:test')
const { testBot } = require('localbot/testing')

test('a required localbot/testing runs the bot too', async () => {
  assert.match(require.resolve('localbot/testing'), /testing\\.cjs$/)
  const bot = await testBot('.')
  assert.equal((await bot.send('hello')).replies[0].payload.text, '#1 hello')
  await bot.close()
})
`,
}

/** A folder of two bots beside it, with a package of their own in the folder's node_modules (which is no bot). */
const fleet = {
  'fleet/alpha/bot.definition.ts': `import * as sdk from '@botpress/sdk'

export default new sdk.BotDefinition({})
`,
  'fleet/alpha/src/index.ts': `import * as bp from '.botpress'

const bot = new bp.Bot({ actions: {} })

bot.on.message('text', async ({ client, ctx, conversation, message }) => {
  await client.createMessage({ conversationId: conversation.id, userId: ctx.botId, type: 'text', payload: { text: \`alpha heard \${message.payload.text}\` }, tags: {} })
})

export default bot
`,
  'fleet/beta/src/index.ts': `import * as bp from '.botpress'
import shout from 'shout'

const bot = new bp.Bot({ actions: {} })

bot.on.message('text', async ({ client, ctx, conversation, message }) => {
  await client.createMessage({ conversationId: conversation.id, userId: ctx.botId, type: 'text', payload: { text: shout(message.payload.text) }, tags: {} })
})

export default bot
`,
  'fleet/node_modules/shout/package.json': JSON.stringify({ name: 'shout', version: '1.0.0', main: 'index.js' }),
  'fleet/node_modules/shout/index.js': `module.exports = (text) => text.toUpperCase() + '!'\n`,
  'test/fleet.test.mjs': `import assert from 'node:assert/strict'
import { test } from 'node:test'
import { testBot } from 'localbot/testing'

test('each bot of the folder answers in its own way', async () => {
  const alpha = await testBot('fleet/alpha')
  const beta = await testBot('fleet/beta')
  assert.equal((await alpha.send('hi')).replies[0].payload.text, 'alpha heard hi')
  assert.equal((await beta.send('hi')).replies[0].payload.text, 'HI!')
  await Promise.all([alpha.close(), beta.close()])
})
`,
}

describe('the package, installed in a bot project', () => {
  let scratch: string
  let project: string

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'localbot-package-'))
    // npm pack builds dist/ first (prepack): what is packed is what a fresh build makes.
    const pack = await run('npm', ['pack', '--pack-destination', scratch], { cwd: root, timeoutMs: 180_000 })
    assert.equal(pack.code, 0, pack.stderr)
    const tarball = (await readdir(scratch)).find((f) => f.endsWith('.tgz'))
    assert.ok(tarball, `npm pack made no tarball:\n${pack.stdout}\n${pack.stderr}`)
    project = join(scratch, 'my-bot')
    await writeFiles(project, { ...(await projectFiles()), ...oneBot, ...fleet })
    const install = await run('npm', ['install', '--save-dev', join(scratch, tarball)], { cwd: project, timeoutMs: 180_000 })
    assert.equal(install.code, 0, install.stderr)
  })
  after(async () => {
    for (const kill of running) kill()
    await rm(scratch, { recursive: true, force: true })
  })

  it('packs only what runs: the compiled JavaScript and the declarations of localbot/testing', async () => {
    const installed = join(project, 'node_modules', 'localbot')
    const top = (await readdir(installed)).sort()
    assert.deepEqual(top, ['README.md', 'dist', 'package.json'])
    const files = await readdir(join(installed, 'dist'), { recursive: true })
    for (const file of ['cli.js', 'testing.js', 'testing.cjs', join('types', 'testing.d.ts')]) assert.ok(files.includes(file), `${file} in ${files.join(' ')}`)
    assert.deepEqual(
      files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
      [],
      'no TypeScript source',
    )
  })

  describe('a project that is one bot', () => {
    it('npx localbot --repl answers piped lines, says it found one bot, and keeps its data in .localbot', async () => {
      const repl = await run('npx', ['localbot', '--repl', '--no-http'], { cwd: project, input: 'hello\nagain\n' })
      assert.equal(repl.code, 0, repl.stderr)
      assert.equal(repl.stdout, 'my-bot> #1 hello\nmy-bot> #2 again\n')
      assert.match(repl.stderr, /^localbot: one bot, my-bot, in \S+my-bot; data in \S+my-bot\/\.localbot$/m)
      assert.ok((await stat(join(project, '.localbot'))).isDirectory())
    })

    it('npx localbot --port 0 answers over HTTP and stops at Ctrl-C', async () => {
      const server = await serve(project, [])
      const health = (await (await fetch(`${server.url}/health`)).json()) as { bots: string[] }
      assert.deepEqual(health.bots, ['my-bot'])
      assert.deepEqual(await say(server.url, 'my-bot', 'hello'), ['#1 hello'])
      assert.deepEqual(await say(server.url, 'my-bot', 'again'), ['#2 again'])
      // The web console's files came along in the package.
      for (const path of ['/', '/console/app.js']) assert.equal((await fetch(server.url + path)).status, 200, path)
      assert.doesNotMatch(await server.stop(), /"level":"error"/)
    })

    it("the bot's own tests pass under node --test, importing localbot/testing or requiring it", async () => {
      const test = await run(process.execPath, ['--test', 'test/bot.test.mjs', 'test/bot.test.cjs'], { cwd: project })
      assert.equal(test.code, 0, test.stdout + test.stderr)
      assert.match(test.stdout, /^# pass 2$/m)
    })
  })

  describe('a folder of bots', () => {
    const folder = () => join(project, 'fleet')

    it('npx localbot --repl answers each bot, says it found a folder of two, and loads neither node_modules nor .localbot', async () => {
      const repl = await run('npx', ['localbot', '--repl', '--no-http'], { cwd: folder(), input: 'hi\n.bot beta\nhi\n' })
      assert.equal(repl.code, 0, repl.stderr)
      assert.equal(repl.stdout, 'alpha> alpha heard hi\nbot beta\nbeta> HI!\n')
      assert.match(repl.stderr, /^localbot: a folder of 2 bots \(alpha, beta\) in \S+fleet; data in \S+fleet\/\.localbot$/m)
      assert.doesNotMatch(repl.stderr, /failed to load/)
    })

    it('npx localbot DIR --port 0 serves both bots over HTTP', async () => {
      const server = await serve(project, ['fleet'])
      const health = (await (await fetch(`${server.url}/health`)).json()) as { bots: string[] }
      assert.deepEqual(health.bots, ['alpha', 'beta'])
      assert.deepEqual(await say(server.url, 'alpha', 'hello'), ['alpha heard hello'])
      assert.deepEqual(await say(server.url, 'beta', 'hello'), ['HELLO!'])
      assert.doesNotMatch(await server.stop(), /"level":"error"/)
    })

    it("the bots' own test passes under node --test", async () => {
      const test = await run(process.execPath, ['--test', 'test/fleet.test.mjs'], { cwd: project })
      assert.equal(test.code, 0, test.stdout + test.stderr)
      assert.match(test.stdout, /^# pass 1$/m)
    })
  })
})
