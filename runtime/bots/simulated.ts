import type { SdkModule } from './compile.ts'

/** Names already said, so that each missing package is announced once per process. */
const said = new Set<string>()

/** Told when a simulated package stands in (the loader logs it once). */
export const simulatedNotices: { listener?: (name: string) => void } = {}

/**
 * What stands in for `bp_modules/NAME` when `bp add` has not downloaded it: a package permissive enough
 * that a definition adds it (`addIntegration` or `addPlugin`) and loads. As an integration it has one
 * channel, `channel`, with Botpress's standard message types, and no configuration schema (any configuration
 * is kept as given); as a plugin it adds nothing.
 */
export function simulatedPackage(sdk: SdkModule, name: string) {
  if (!said.has(name)) {
    said.add(name)
    simulatedNotices.listener?.(name)
  }
  const definition = {
    name,
    version: '0.0.0',
    title: name,
    description: `localbot's stand-in for bp_modules/${name}`,
    channels: { channel: { messages: sdk.messages.defaults, message: { tags: {} }, conversation: { tags: {} } } },
    actions: {},
    events: {},
    states: {},
    entities: {},
    interfaces: {},
    integrations: {},
    user: { tags: {} },
    configurations: {},
  }
  return { type: 'integration' as const, name, version: '0.0.0', definition, simulated: true }
}
