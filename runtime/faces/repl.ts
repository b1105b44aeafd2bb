import { randomBytes } from 'node:crypto'
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs'
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import { stateTypes } from '../client/common.ts'
import { isApiError, type Message, type StateType } from '../client/index.ts'
import type { Runtime } from '../runtime.ts'
import { parseDuration } from '../time/duration.ts'
import { channelNames, defaultIntegration, talkingIntegrations } from '../dispatch/channels.ts'

/** Who is talking to which bot, where, and through which integration's channel (the bot's default when unset). */
type Session = { botId: string | undefined; userId: string; conversationId: string; integration?: string; channel?: string }

type Context = { runtime: Runtime; session: Session; print: (line: string) => void; stop: () => void; history: string[] }

/** A REPL command: `.name args`. */
type Command = { name: string; args: string; help: string; run: (ctx: Context, args: string[], rest: string) => Promise<void> | void }

const newConversationId = () => `repl-${randomBytes(4).toString('hex')}`

function requireBot(ctx: Context): string {
  if (!ctx.session.botId) throw new Error('no bot is loaded; see .bots')
  return ctx.session.botId
}

function json(value: unknown): string {
  return JSON.stringify(value)
}

function parseJson(text: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new Error(`the payload is not JSON: ${(error as Error).message}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('the payload must be a JSON object')
  return value as Record<string, unknown>
}

/** Who a message of the session comes from, where. */
function where(session: Session) {
  return { userId: session.userId, conversationId: session.conversationId, integration: session.integration, channel: session.channel }
}

/** The commands of CONTRACT section 5, as a table. */
export const commands: Command[] = [
  {
    name: 'help',
    args: '',
    help: 'list the commands',
    run: ({ print }) => {
      print('Every line that does not start with "." is a text message to the current bot.')
      const usages = commands.map((c) => `  .${c.name}${c.args ? ' ' + c.args : ''}`)
      // The widest usage sets the column: `.via [INTEGRATION[/CHANNEL]]` ran into its text at a fixed 30.
      const width = Math.max(...usages.map((u) => u.length)) + 2
      commands.forEach((c, i) => print(usages[i]!.padEnd(width) + c.help))
    },
  },
  {
    name: 'bots',
    args: '',
    help: 'list the running bots (* marks the current one)',
    run: ({ runtime, session, print }) => {
      for (const id of runtime.dispatcher.botIds()) print(`${id === session.botId ? '*' : ' '} ${id}`)
    },
  },
  {
    name: 'bot',
    args: 'ID',
    help: 'talk to another bot',
    run: ({ runtime, session, print }, [id]) => {
      if (!id || !runtime.dispatcher.has(id)) throw new Error(`unknown bot ${JSON.stringify(id ?? '')}; see .bots`)
      session.botId = id
      session.integration = session.channel = undefined
      print(`bot ${id}`)
    },
  },
  {
    name: 'user',
    args: 'ID',
    help: 'speak as another user',
    run: ({ session, print }, [id]) => {
      if (!id) return print(`user ${session.userId}`)
      session.userId = id
      print(`user ${id}`)
    },
  },
  {
    name: 'via',
    args: '[INTEGRATION[/CHANNEL]]',
    help: "list the bot's integrations and channels, or talk through one (in a new conversation)",
    run: (ctx, [arg]) => {
      const { runtime, session, print } = ctx
      const botId = requireBot(ctx)
      const definition = runtime.dispatcher.botOf(botId)!.definition
      const talking = talkingIntegrations(definition)
      if (!arg) {
        const current = session.integration ?? defaultIntegration(definition)
        if (talking.length === 0) return print(`* chat/channel (the bot adds no integration that talks)`)
        for (const alias of talking)
          for (const channel of channelNames(definition, alias)) print(`${alias === current && (session.channel ?? channelNames(definition, alias)[0]) === channel ? '*' : ' '} ${alias}/${channel}`)
        return
      }
      const [integration, channel] = arg.split('/')
      const known = talking.length === 0 ? ['chat'] : talking
      if (!known.includes(integration!)) throw new Error(`${botId} adds no integration ${JSON.stringify(integration)} that talks (it has: ${known.join(', ')})`)
      if (channel !== undefined && talking.length > 0 && !channelNames(definition, integration!).includes(channel))
        throw new Error(`integration ${integration} has no channel ${JSON.stringify(channel)} (it has: ${channelNames(definition, integration!).join(', ')})`)
      session.integration = integration
      session.channel = channel
      session.conversationId = newConversationId()
      print(`via ${integration}${channel ? '/' + channel : ''}, conversation ${session.conversationId}`)
    },
  },
  {
    name: 'send',
    args: 'TYPE JSON',
    help: 'send a message of any type: .send image {"imageUrl":"https://..."}',
    run: async (ctx, [type], rest) => {
      const botId = requireBot(ctx)
      if (!type) throw new Error('usage: .send TYPE JSON')
      const payload = parseJson(rest.slice(type.length).trim() || '{}')
      await ctx.runtime.dispatcher.sendMessage(botId, { ...where(ctx.session), type, payload })
    },
  },
  {
    name: 'actions',
    args: '',
    help: "the bot's latest integration action calls, with their input and output",
    run: (ctx) => {
      const { runtime, print } = ctx
      const botId = requireBot(ctx)
      const calls = runtime.dispatcher.actions.calls.filter((call) => call.botId === botId).slice(-20)
      if (calls.length === 0) return print('no action calls yet')
      for (const call of calls)
        print(`${call.at} ${call.type} ${json(call.input)} → ${call.error ? `error: ${call.error}` : `${json(call.output)} (${call.answeredBy === 'mock' ? 'its mock' : 'no mock: its output schema, or {}'})`}`)
    },
  },
  {
    name: 'conv',
    args: '[new|ID]',
    help: 'show the conversation, start a new one, or switch to one',
    run: ({ session, print }, [arg]) => {
      if (arg === 'new') session.conversationId = newConversationId()
      else if (arg) session.conversationId = arg
      print(`conversation ${session.conversationId}`)
    },
  },
  {
    name: 'event',
    args: 'TYPE [JSON]',
    help: 'send an event to the bot, in this conversation',
    run: async (ctx, [type], rest) => {
      const botId = requireBot(ctx)
      if (!type) throw new Error('usage: .event TYPE [JSON]')
      const text = rest.slice(type.length).trim()
      const payload = text ? parseJson(text) : {}
      const client = ctx.runtime.dispatcher.clientOf(botId)
      const hasConversation = await client.getConversation({ id: ctx.session.conversationId }).then(() => true, () => false)
      const { event } = await ctx.runtime.dispatcher.sendEvent(botId, {
        type,
        payload,
        ...(hasConversation ? { conversationId: ctx.session.conversationId } : {}),
      })
      ctx.print(`event ${type} ${event.status}${event.failureReason ? ': ' + event.failureReason : ''}`)
    },
  },
  {
    name: 'state',
    args: '[TYPE ID [NAME]]',
    help: 'show states: of this conversation and user, of one owner, or one state',
    run: async (ctx, [type, id, name]) => {
      const client = ctx.runtime.dispatcher.clientOf(requireBot(ctx))
      if (type && !(stateTypes as readonly string[]).includes(type)) throw new Error(`TYPE is one of ${stateTypes.join(', ')}`)
      if (type && !id) throw new Error('usage: .state [TYPE ID [NAME]]')
      if (type && id && name) {
        const { state } = await client.getState({ type: type as StateType, id, name })
        return ctx.print(`${type} ${id} ${name} = ${json(state.payload)}${state.expiresAt ? ` (expires ${state.expiresAt})` : ''}`)
      }
      const owners: [StateType, string][] = type
        ? [[type as StateType, id!]]
        : [
            ['conversation', ctx.session.conversationId],
            ['user', ctx.session.userId],
            ['bot', ctx.session.botId!],
          ]
      let shown = 0
      for (const [ownerType, ownerId] of owners) {
        const states = await client.listStates({ type: ownerType, id: ownerId, limit: 100 }).then((r) => r.states, () => [])
        for (const state of states)
          ctx.print(`${ownerType} ${ownerId} ${state.name} = ${json(state.payload)}${state.expiresAt ? ` (expires ${state.expiresAt})` : ''}`)
        shown += states.length
      }
      if (shown === 0) ctx.print('(no states)')
    },
  },
  {
    name: 'convs',
    args: '',
    help: "list the bot's conversations (newest first), each with its integration and channel",
    run: async (ctx) => {
      const { conversations } = await ctx.runtime.dispatcher.clientOf(requireBot(ctx)).listConversations({ limit: 100 })
      for (const c of conversations) ctx.print(`${c.id === ctx.session.conversationId ? '*' : ' '} ${c.id} ${c.integration}/${c.channel} ${json(c.tags)}`)
      if (conversations.length === 0) ctx.print('(no conversations)')
    },
  },
  {
    name: 'users',
    args: '',
    help: "list the bot's users (newest first)",
    run: async (ctx) => {
      const { users } = await ctx.runtime.dispatcher.clientOf(requireBot(ctx)).listUsers({ limit: 100 })
      for (const u of users) ctx.print(`${u.id === ctx.session.userId ? '*' : ' '} ${u.id}${u.name ? ' ' + u.name : ''} ${json(u.tags)}`)
      if (users.length === 0) ctx.print('(no users)')
    },
  },
  {
    name: 'clock',
    args: '[+DURATION]',
    help: 'show the time; with --virtual-clock, move it forward (+90m, +2h, +1d)',
    run: async ({ runtime, print }, [duration]) => {
      if (duration) {
        if (!runtime.advanceClock) throw new Error('the clock moves only with --virtual-clock')
        const seconds = parseDuration(duration)
        if (seconds === undefined) throw new Error(`not a duration: ${duration} (e.g. +90m, +2h, +1d)`)
        await runtime.advanceClock(seconds)
        await runtime.dispatcher.idle()
      }
      print(`clock ${new Date(runtime.clock.now()).toISOString()}`)
    },
  },
  {
    name: 'history',
    args: '[N]',
    help: 'the last N lines typed (default 20), kept across restarts',
    run: ({ history, print }, [n]) => {
      const count = n === undefined ? 20 : Number(n)
      if (!Number.isInteger(count) || count < 1) throw new Error('usage: .history [N], N a whole number above 0')
      const shown = history.slice(-count)
      shown.forEach((line, i) => print(`${String(history.length - shown.length + i + 1).padStart(4)}  ${line}`))
    },
  },
  {
    name: 'transcript',
    args: '',
    help: "this conversation's messages, oldest first",
    run: async (ctx) => {
      const botId = requireBot(ctx)
      const client = ctx.runtime.dispatcher.clientOf(botId)
      const messages: Message[] = []
      let nextToken: string | undefined
      do {
        const page = await client.listMessages({ conversationId: ctx.session.conversationId, limit: 100, nextToken }).catch((error: unknown) => {
          if (isApiError(error) && error.type === 'ResourceNotFound') return { messages: [], meta: {} as { nextToken?: string } }
          throw error
        })
        messages.push(...page.messages)
        nextToken = page.meta.nextToken
      } while (nextToken)
      if (messages.length === 0) return ctx.print(`no messages yet in ${ctx.session.conversationId}`)
      for (const message of messages.reverse()) {
        const [first = '', ...more] = describe(message.type, message.payload)
        const who = message.direction === 'outgoing' ? botId : message.userId
        ctx.print([`${message.createdAt} ${who}> ${first}`, ...more.map((line) => `  ${line}`)].join('\n'))
      }
    },
  },
  {
    name: 'reload',
    args: '',
    help: "load the bot's code again",
    run: async (ctx) => {
      const botId = requireBot(ctx)
      const failure = await ctx.runtime.reload(botId)
      ctx.print(failure ? `reload failed: ${failure.message}` : `reloaded ${botId}`)
    },
  },
  {
    name: 'exit',
    args: '',
    help: 'stop localbot',
    run: ({ stop }) => stop(),
  },
]

/** How a bot's message prints: `BOTID> TEXT`; other standard types readably, on as many lines as they need. */
export function formatReply(botId: string, message: Message): string {
  const [first = '', ...more] = describe(message.type, message.payload)
  return [`${botId}> ${first}`, ...more.map((line) => `  ${line}`)].join('\n')
}

/**
 * A standard message (Botpress's text, markdown, image, audio, video, file, location, card, carousel, choice,
 * dropdown, bloc) as lines of text; any other type as JSON.
 */
export function describe(type: string, payload: Record<string, any>): string[] {
  const titled = (label: string, url: unknown) => [`[${label}] ${String(url)}${payload.title ? ` "${payload.title}"` : ''}`]
  switch (type) {
    case 'text':
      if (typeof payload.text === 'string') return payload.text.split('\n')
      break
    case 'markdown':
      if (typeof payload.markdown === 'string') return payload.markdown.split('\n')
      break
    case 'image':
      return titled('image', payload.imageUrl)
    case 'audio':
      return titled('audio', payload.audioUrl)
    case 'video':
      return titled('video', payload.videoUrl)
    case 'file':
      return titled('file', payload.fileUrl)
    case 'location':
      return [`[location] ${payload.latitude}, ${payload.longitude}${payload.address ? ` ${payload.address}` : ''}${payload.title ? ` "${payload.title}"` : ''}`]
    case 'card':
      return card(payload)
    case 'carousel':
      if (Array.isArray(payload.items)) return [`[carousel] ${payload.items.length} cards`, ...payload.items.flatMap((item: Record<string, any>, i: number) => card(item).map((line, j) => (j === 0 ? `${i + 1}. ${line}` : `   ${line}`)))]
      break
    case 'choice':
    case 'dropdown':
      if (Array.isArray(payload.options))
        return [...String(payload.text ?? '').split('\n'), ...payload.options.map((o: Record<string, any>, i: number) => `  [${i + 1}] ${o.label}${o.value !== o.label ? ` (${o.value})` : ''}`)]
      break
    case 'bloc':
      if (Array.isArray(payload.items)) return payload.items.flatMap((item: Record<string, any>) => describe(String(item.type), item.payload ?? {}))
      break
  }
  return [json({ type, payload })]
}

function card(payload: Record<string, any>): string[] {
  const head = `[card] ${payload.title ?? ''}${payload.subtitle ? ` — ${payload.subtitle}` : ''}${payload.imageUrl ? ` (${payload.imageUrl})` : ''}`
  const actions = Array.isArray(payload.actions) ? payload.actions.map((a: Record<string, any>) => `  (${a.action}) ${a.label} → ${a.value}`) : []
  return [head, ...actions]
}

/** What the REPL reads from and writes to. */
export type ReplOptions = {
  input: Readable
  output: Writable
  /** A terminal: prompt, history and tab-completion. */
  interactive: boolean
  botId?: string
  userId?: string
  /** Where the typed lines are kept across restarts (in the data folder); none: this session only. */
  historyFile?: string
  /**
   * Called on `.exit` and at the end of input, once every handler has finished, with the number of lines that
   * failed (a command's error, a message refused or whose handler failed): a script exits non-zero on any.
   */
  onExit: (failures: number) => void
}

/** A running REPL: `print` writes a line above the prompt and the half-typed line, then redraws them. */
export type Repl = { readline: Interface; print(line: string): void }

/** Lines of history kept. */
const HISTORY = 500

function readHistory(file: string | undefined): string[] {
  if (!file) return []
  try {
    return readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '').slice(-HISTORY)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

/**
 * The REPL face: each line a text message from the current user in the current conversation to the
 * current bot, or a command. Replies print as they are created, also those that come later. Lines are
 * handled one after another, so a piped script prints its replies in order.
 */
export function startRepl(runtime: Runtime, options: ReplOptions): Repl {
  const bots = runtime.dispatcher.botIds()
  if (options.botId !== undefined && !runtime.dispatcher.has(options.botId)) throw new Error(`--bot ${options.botId}: no such bot (bots: ${bots.join(', ') || 'none'})`)
  const session: Session = { botId: options.botId ?? bots[0], userId: options.userId ?? 'user', conversationId: newConversationId() }
  const { output, interactive } = options
  /** Whether the prompt is on screen, waiting for a line: output from elsewhere goes above it. */
  let waiting = false
  const print = (line: string) => {
    if (!interactive || !waiting) return void output.write(line + '\n')
    clearLine(output, 0)
    cursorTo(output, 0)
    output.write(line + '\n')
    rl.prompt(true)
  }
  const history = interactive ? readHistory(options.historyFile) : []
  if (interactive && options.historyFile && history.length >= HISTORY) writeFileSync(options.historyFile, history.join('\n') + '\n')
  let failures = 0
  let exiting = false
  /** Set by `.exit`: lines already read but not yet handled are dropped. */
  let stopped = false
  const stop = () => {
    if (stopped) return
    stopped = exiting = true
    rl.close()
  }
  const ctx: Context = { runtime, session, print, stop, history }

  const onReply = ({ botId, message }: { botId: string; message: Message }) => {
    const here = message.conversationId === session.conversationId
    print(here ? formatReply(botId, message) : `(${message.conversationId}) ${formatReply(botId, message)}`)
  }
  runtime.bus.on('reply', onReply)

  const names = commands.map((c) => '.' + c.name)
  const rl = createInterface({
    input: options.input,
    output: options.interactive ? options.output : undefined,
    terminal: options.interactive,
    historySize: options.interactive ? HISTORY : 0,
    // Newest first, as readline keeps it.
    history: [...history].reverse(),
    completer: (line: string) => {
      const [head, arg = ''] = line.split(/\s+/, 2)
      if (head === '.bot' && line.includes(' ')) {
        const hits = runtime.dispatcher.botIds().filter((id) => id.startsWith(arg))
        return [hits.map((id) => `.bot ${id}`), line]
      }
      return [names.filter((n) => n.startsWith(line)), line]
    },
  })
  const prompt = () => {
    if (options.interactive && !exiting) {
      rl.setPrompt(`${session.botId ?? '-'}:${session.userId}${session.integration ? ` via ${session.integration}${session.channel ? '/' + session.channel : ''}` : ''}> `)
      waiting = true
      rl.prompt()
    }
  }

  // One line at a time, in order: a line's handlers finish before the next line is read.
  let queue = Promise.resolve()
  const handle = async (line: string) => {
    const text = line.trim()
    if (text === '' || stopped) return
    try {
      if (text.startsWith('.')) {
        const [name, ...args] = text.slice(1).split(/\s+/)
        const command = commands.find((c) => c.name === name)
        if (!command) throw new Error(`unknown command .${name}; see .help`)
        await command.run(ctx, args, text.slice(1 + name!.length).trim())
      } else {
        const botId = requireBot(ctx)
        const { event } = await runtime.dispatcher.sendMessage(botId, { ...where(session), payload: { text: line } })
        if (event.status === 'failed') {
          failures++
          print(`error: the bot's handler failed: ${event.failureReason ?? 'no reason given'}`)
        }
      }
    } catch (error) {
      failures++
      print(`error: ${isApiError(error) ? `${error.type}: ${error.message}` : (error as Error).message}`)
    }
  }
  /** Set by a Ctrl-C on an empty line: a second one quits. */
  let armed = false
  rl.on('line', (line) => {
    waiting = false
    armed = false
    if (interactive && line.trim() !== '') {
      history.push(line)
      if (options.historyFile) appendFileSync(options.historyFile, line.replace(/\n/g, ' ') + '\n')
    }
    queue = queue.then(() => handle(line)).then(prompt)
  })
  // Ctrl-C clears a half-typed line; on an empty line it warns, and a second one quits (as node's REPL).
  rl.on('SIGINT', () => {
    const typed = rl.line
    if (typed.length > 0) {
      armed = false
      output.write('^C\n')
      ;(rl as unknown as { line: string; cursor: number }).line = ''
      ;(rl as unknown as { line: string; cursor: number }).cursor = 0
      rl.prompt()
    } else if (armed) stop()
    else {
      armed = true
      output.write('\n(Ctrl-C again or .exit to quit)\n')
      rl.prompt()
    }
  })
  rl.on('close', () => {
    exiting = true
    void queue
      .then(() => runtime.dispatcher.idle())
      .then(() => {
        runtime.bus.off('reply', onReply)
        options.onExit(failures)
      })
  })
  if (options.interactive) {
    print(`localbot: talking to ${session.botId ?? 'no bot'} as ${session.userId} in ${session.conversationId}; .help lists the commands`)
    prompt()
  }
  return { readline: rl, print }
}
