/**
 * `.botpress/implementation/index.ts`: the bot class typed by `TBot` with its plugins wired in, and the handler,
 * props and client types Botpress bots import from `.botpress` (`bp.MessageHandlerProps`, `bp.Client`, ...).
 */

/**
 * A bot class whose simulated plugins' actions (`alias#name`, names unknown without the package) are in
 * `bot.actionHandlers` all the same, as a call of the action through the bot's client, which localbot answers
 * with the action's mock: Botpress bots call their plugins' actions that way (`bot.actionHandlers['hitl#startHitl']`).
 */
function botClass(simulatedPlugins: string[]): string {
  if (simulatedPlugins.length === 0)
    return `export class Bot extends sdk.Bot<TBot, TPlugins> {
  public constructor(props: BotProps) {
    super({ ...props, plugins: plugins.plugins })
  }
}`
  return `/** Plugins that \`bp add\` has not downloaded: localbot answers their actions with mocks. */
const simulatedPlugins = ${JSON.stringify(simulatedPlugins)}

export class Bot extends sdk.Bot<TBot, TPlugins> {
  public constructor(props: BotProps) {
    super({ ...props, plugins: plugins.plugins })
  }

  public override get actionHandlers(): sdk.Bot<TBot, TPlugins>["actionHandlers"] {
    const handlers = super.actionHandlers as Record<string, unknown>
    return new Proxy(handlers, {
      get: (target, name) => {
        if (typeof name !== "string" || name in target || !simulatedPlugins.includes(name.split("#")[0]!) || !name.includes("#")) return target[name as string]
        return async (props: { client: { callAction(x: { type: string; input: unknown }): Promise<{ output: unknown }> }; input: unknown }) =>
          (await props.client.callAction({ type: name, input: props.input })).output
      },
    }) as sdk.Bot<TBot, TPlugins>["actionHandlers"]
  }
}`
}

/** The implementation index, importing `./typings/index` and `./plugins/index`. */
export const implementationIndex = (simulatedPlugins: string[] = []) => `import * as sdk from "@botpress/sdk"
import * as typings from "./typings/index"
import * as plugins from "./plugins/index"

export * from "./typings/index"
export * from "./plugins/index"

type TPlugins = plugins.TPlugins
type TBot = sdk.DefaultBot<typings.TBot>

export type BotProps = Omit<sdk.BotProps<TBot, TPlugins>, "plugins">

${botClass(simulatedPlugins)}

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
