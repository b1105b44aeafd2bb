import type { SdkModule } from './compile.ts'

/**
 * What stands in for `bp_modules/NAME` when `bp add` has not downloaded it: a package permissive enough
 * that a definition adds it (`addIntegration` or `addPlugin`) and loads. As an integration it has one
 * channel, `channel`, with Botpress's standard message types, no configuration schema (any configuration
 * is kept as given) and every interface a plugin may ask of it; as a plugin it adds nothing.
 */
export function simulatedPackage(sdk: SdkModule, name: string) {
  const definition = {
    name,
    version: '0.0.0',
    title: name,
    description: `localbot's stand-in for bp_modules/${name}`,
    /** Read by the generator: its actions and events are typed permissively. */
    simulated: true,
    channels: { channel: { messages: { ...sdk.messages.defaults, markdown: sdk.messages.markdown }, message: { tags: {} }, conversation: { tags: {} } } },
    actions: {},
    events: {},
    states: {},
    entities: {},
    // A plugin added after it may name any interface of it (`hitl<hitlTicket>`, `files-readonly`...): each is there, empty.
    interfaces: new Proxy({} as Record<string, unknown>, {
      get: (_, alias) => (typeof alias === 'string' ? { name: alias, version: '0.0.0', entities: {}, actions: {}, events: {}, channels: {} } : undefined),
    }),
    integrations: {},
    user: { tags: {} },
    configurations: {},
  }
  return { type: 'integration' as const, name, version: '0.0.0', definition, simulated: true }
}
