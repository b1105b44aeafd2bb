/**
 * `.botpress/implementation/index.ts`: the bot class typed by `TBot` with its plugins wired in, and the handler,
 * props and client types Botpress bots import from `.botpress` (`bp.MessageHandlerProps`, `bp.Client`, ...).
 */

/** The implementation index, importing `./typings/index` and `./plugins/index`. */
export const implementationIndex = `import * as sdk from "@botpress/sdk"
import * as typings from "./typings/index"
import * as plugins from "./plugins/index"

export * from "./typings/index"
export * from "./plugins/index"

type TPlugins = plugins.TPlugins
type TBot = sdk.DefaultBot<typings.TBot>

export type BotProps = Omit<sdk.BotProps<TBot, TPlugins>, "plugins">

export class Bot extends sdk.Bot<TBot, TPlugins> {
  public constructor(props: BotProps) {
    super({ ...props, plugins: plugins.plugins })
  }
}

/** Every handler the bot can register, by kind and name. */
export type BotHandlers = sdk.InjectedBotHandlers<TBot>

/** One handler of a kind, by the name it is registered for ("*" included). */
type HandlerOf<THandlers> = Required<{ [K in keyof THandlers]: NonNullable<THandlers[K]> extends Array<infer H> ? H : never }>

export type EventHandlers = HandlerOf<BotHandlers["eventHandlers"]>
export type MessageHandlers = HandlerOf<BotHandlers["messageHandlers"]>
/** Workflow handlers by workflow name (the same for started, continued and timed out). */
export type WorkflowHandlers = HandlerOf<Required<BotHandlers["workflowHandlers"][keyof BotHandlers["workflowHandlers"]]>>

export type MessageHandlerProps = Parameters<MessageHandlers["*"]>[0]
export type EventHandlerProps = Parameters<EventHandlers["*"]>[0]
export type WorkflowHandlerProps = { [K in keyof WorkflowHandlers]: Parameters<WorkflowHandlers[K]>[0] }

/** The client handlers get, and its operations' inputs and outputs by name. */
export type Client = (MessageHandlerProps | EventHandlerProps)["client"]
export type ClientOperation = { [K in keyof Client]: Client[K] extends (...args: any[]) => Promise<any> ? K : never }[keyof Client]
export type ClientInputs = { [K in ClientOperation]: Parameters<Client[K]>[0] }
export type ClientOutputs = { [K in ClientOperation]: Awaited<ReturnType<Client[K]>> }

// The reference page's state calls that Botpress's bot client lacks; localbot serves them (see the README).
type LocalStateType = "conversation" | "user" | "bot" | "workflow"
type LocalState = { id: string; type: LocalStateType; name: string; payload: any; createdAt: string; updatedAt: string; expiresAt?: string }
declare module "@botpress/sdk/dist/bot/client/index" {
  interface BotSpecificClient<TBot> {
    listStates(input: { type: LocalStateType; id: string; limit?: number; pageSize?: number; nextToken?: string }): Promise<{ states: LocalState[]; meta: { nextToken?: string } }>
    deleteState(input: { type: LocalStateType; id: string; name: string }): Promise<{}>
  }
}
`
