import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Client } from '../client/index.ts'
import { serveBotpressApi } from '../faces/botpress-api.ts'
import type { Logger } from '../log.ts'

/**
 * Botpress's API over loopback HTTP for bots whose SDK builds its own client from `BP_API_URL` (before 7.x,
 * `bot.handler` takes no `deps.client`). Each handler call lends its client under a random token, and the
 * bot's SDK reaches it at `BP_API_URL = http://127.0.0.1:PORT/~call/TOKEN`, read when the SDK constructs
 * its client at the start of the call: so replies, events and workflows a call creates go through that
 * call's client, as with an SDK that takes it in-process. A request under a call already returned (a
 * promise the handler left running) is served by the bot's own client. Every path carries the bridge's
 * secret: nothing else on the machine that finds the port reaches a bot's data.
 */
export class ApiBridge {
  private readonly lent = new Map<string, { botId: string; client: Client }>()
  private readonly secret = randomBytes(16).toString('hex')
  private calls = 0
  private server: Server | undefined
  private listening: Promise<string> | undefined

  constructor(private readonly options: { clientOf: (botId: string) => Client | undefined; logger: Logger }) {}

  /** Lends a call's client: the `BP_API_URL` that reaches it, and a function that returns it. */
  async lend(botId: string, client: Client): Promise<{ url: string; release: () => void }> {
    const base = await this.listen()
    const call = String(++this.calls)
    this.lent.set(call, { botId, client })
    return { url: `${base}/~call/${this.secret}/${call}`, release: () => this.lent.delete(call) }
  }

  /** Stops serving; requests in flight are answered first. */
  async close(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    this.listening = undefined
    server.closeIdleConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  private listen(): Promise<string> {
    this.listening ??= new Promise((resolve, reject) => {
      const server = createServer((req, res) => void this.serve(req, res))
      // Keep-alive sockets of the SDK's client must not hold the process open at stop.
      server.unref()
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
      this.server = server
    })
    return this.listening
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!
    const match = /^\/~call\/([0-9a-f]{32})\/(\d+)(\/.*)$/.exec(path)
    const loan = match?.[1] === this.secret ? this.lent.get(match[2]!) : undefined
    const clientFor = (botId: string) => (loan ? (loan.botId === botId ? loan.client : undefined) : this.options.clientOf(botId))
    if (match?.[1] === this.secret && (await serveBotpressApi({ clientFor, logger: this.options.logger }, req, res, match[3]!))) return
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 404, type: 'ResourceNotFound', message: `no route ${req.method} ${path}` }))
  }
}
