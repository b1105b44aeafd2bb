import { randomBytes } from 'node:crypto'
import { createInterface, type Interface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import { stateTypes } from '../client/common.ts'
import { isApiError, type Message, type StateType } from '../client/index.ts'
import type { Runtime } from '../runtime.ts'
import { parseDuration } from '../time/duration.ts'

/** Who is talking to which bot, where. */
type Session = { botId: string | undefined; userId: string; conversationId: string }

type Context = { runtime: Runtime; session: Session; print: (line: string) => void; stop: () => void }

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

/** The commands of CONTRACT section 5, as a table. */
export const commands: Command[] = [
  {
    name: 'help',
    args: '',
    help: 'list the commands',
    run: ({ print }) => {
      print('Every line that does not start with "." is a text message to the current bot.')
      for (const c of commands) print(`  .${c.name}${c.args ? ' ' + c.args : ''}`.padEnd(30) + c.help)
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
      let payload: Record<string, unknown> = {}
      if (text) {
        try {
          payload = JSON.parse(text)
        } catch (error) {
          throw new Error(`the payload is not JSON: ${(error as Error).message}`)
        }
      }
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
    help: "list the bot's conversations (newest first)",
    run: async (ctx) => {
      const { conversations } = await ctx.runtime.dispatcher.clientOf(requireBot(ctx)).listConversations({ limit: 100 })
      for (const c of conversations) ctx.print(`${c.id === ctx.session.conversationId ? '*' : ' '} ${c.id} ${json(c.tags)}`)
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

/** How a bot's message prints: `BOTID> TEXT`, other types as JSON. */
export function formatReply(botId: string, message: Message): string {
  if (message.type === 'text' && typeof message.payload.text === 'string') return `${botId}> ${message.payload.text}`
  return `${botId}> ${json({ type: message.type, payload: message.payload })}`
}

/** What the REPL reads from and writes to. */
export type ReplOptions = {
  input: Readable
  output: Writable
  /** A terminal: prompt, history and tab-completion. */
  interactive: boolean
  botId?: string
  userId?: string
  /** Called on `.exit` and at the end of input, once every handler has finished. */
  onExit: () => void
}

/**
 * The REPL face: each line a text message from the current user in the current conversation to the
 * current bot, or a command. Replies print as they are created, also those that come later. Lines are
 * handled one after another, so a piped script prints its replies in order.
 */
export function startRepl(runtime: Runtime, options: ReplOptions): Interface {
  const bots = runtime.dispatcher.botIds()
  if (options.botId !== undefined && !runtime.dispatcher.has(options.botId)) throw new Error(`--bot ${options.botId}: no such bot (bots: ${bots.join(', ') || 'none'})`)
  const session: Session = { botId: options.botId ?? bots[0], userId: options.userId ?? 'user', conversationId: newConversationId() }
  const print = (line: string) => void options.output.write(line + '\n')
  let exiting = false
  /** Set by `.exit`: lines already read but not yet handled are dropped. */
  let stopped = false
  const stop = () => {
    if (stopped) return
    stopped = exiting = true
    rl.close()
  }
  const ctx: Context = { runtime, session, print, stop }

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
    historySize: options.interactive ? 500 : 0,
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
      rl.setPrompt(`${session.botId ?? '-'}:${session.userId}> `)
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
        await runtime.dispatcher.sendMessage(botId, { userId: session.userId, conversationId: session.conversationId, payload: { text: line } })
      }
    } catch (error) {
      print(`error: ${isApiError(error) ? `${error.type}: ${error.message}` : (error as Error).message}`)
    }
  }
  rl.on('line', (line) => {
    queue = queue.then(() => handle(line)).then(prompt)
  })
  rl.on('close', () => {
    exiting = true
    void queue
      .then(() => runtime.dispatcher.idle())
      .then(() => {
        runtime.bus.off('reply', onReply)
        options.onExit()
      })
  })
  if (options.interactive) {
    print(`localbot: talking to ${session.botId ?? 'no bot'} as ${session.userId} in ${session.conversationId}; .help lists the commands`)
    prompt()
  }
  return rl
}
