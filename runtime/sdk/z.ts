/**
 * `sdk.z`: zod, with the v3-style calls Botpress bots use. zod 4 types `z.record` with a key schema;
 * Botpress's zui (a zod 3 fork) also takes `z.record(valueSchema)`, so this `record` takes both.
 */
import * as zod from 'zod'

export * from 'zod'

type KeySchema = Parameters<typeof zod.record>[0]

/** `z.record(value)` (string keys, as zod 3) or `z.record(key, value)`. */
export function record<V extends zod.ZodType>(valueType: V): zod.ZodRecord<zod.ZodString, V>
export function record<K extends KeySchema, V extends zod.ZodType>(keyType: K, valueType: V): zod.ZodRecord<K, V>
export function record(a: zod.ZodType, b?: zod.ZodType): zod.ZodType {
  return b === undefined ? zod.record(zod.string(), a) : zod.record(a as KeySchema, b)
}
