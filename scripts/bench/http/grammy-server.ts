/**
 * The grammY peer's server for the peer-grammy-level-http row: node:http with grammY's own webhook
 * handler (`webhookCallback(bot, 'http')`), each POST a Telegram update; the reply goes out through the
 * bot's in-process Telegram API. `node --import tsx grammy-server.ts DATA_DIR` prints `listening on URL`.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { webhookCallback } from 'grammy'
import { grammyBot } from '../peers/grammy-bot.ts'

const { bot, close } = await grammyBot(process.argv[2]!)
const server = createServer(webhookCallback(bot, 'http'))
server.keepAliveTimeout = 5000
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`))
process.on('SIGTERM', () => server.close(() => void close().then(() => process.exit(0))))
