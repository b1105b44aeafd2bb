import type { SdkModule } from '../bots/compile.ts'

const extended = new WeakSet<object>()

/**
 * The reference page calls client operations that Botpress's bot client (`BotSpecificClient`) does not
 * carry (`listStates`, `deleteState`, ...; the vanilla client behind it has them here). Each such name gets
 * a method that forwards to the client localbot injected, so that every snippet of the page runs unchanged.
 * Botpress's own methods are left as they are. Once per SDK copy.
 */
export function extendBotClient(sdk: SdkModule, operations: readonly string[]): void {
  const proto = sdk.BotSpecificClient.prototype as unknown as Record<string, unknown>
  if (extended.has(proto)) return
  extended.add(proto)
  const own = new Set(Object.keys(new sdk.BotSpecificClient({} as never) as object))
  for (const name of operations) {
    if (own.has(name) || name in proto) continue
    Object.defineProperty(proto, name, {
      value: function (this: { _inner: Record<string, (input: unknown) => unknown> }, input: unknown) {
        return this._inner[name]!(input)
      },
      writable: true,
      configurable: true,
    })
  }
}
