import { posix } from 'node:path'
import { aliasName, fileName, typeName, unique } from './names.ts'

/** Generated files by path (posix, relative to the module's folder), contents without the header. */
export type Files = Map<string, string>

/** A generated module: its files, the one that exports its type (a path without `.ts`), and that type's name. */
export type Module = { files: Files; main: string; typeName: string }

/** The part of a zui schema the generator uses (the bot's own SDK copy made it, so no class is shared). */
export type Schema = { toTypescriptType(options?: { treatDefaultAsOptional?: boolean }): string }

/** A one-file module `export type NAME = <the schema's type><suffix>`, at `<file>.ts`. */
export function schemaModule(file: string, name: string, schema: Schema, suffix = ''): Module {
  // A default makes the field optional on input, as Botpress types payloads a bot writes.
  return typeModule(file, name, schema.toTypescriptType({ treatDefaultAsOptional: true }) + suffix)
}

/** A one-file module `export type NAME = TYPE`, at `<file>.ts`. */
export function typeModule(file: string, name: string, type: string): Module {
  return { files: new Map([[`${file}.ts`, `export type ${name} = ${type}\n`]]), main: file, typeName: name }
}

/** The module moved into a folder. */
export function inFolder(folder: string, module: Module): Module {
  const files: Files = new Map()
  for (const [path, content] of module.files) files.set(posix.join(folder, path), content)
  return { files, main: posix.join(folder, module.main), typeName: module.typeName }
}

/** A field of a record type: a module whose type it is, or a type written out. */
export type Field = Module | string

/**
 * An `index.ts` that exports `type NAME = { KEY: alias.Type, ... }` over its fields, importing and re-exporting
 * each field's module under an alias (`import * as userPrefs from "./user-prefs/index"`). `head` lines open the
 * type, e.g. an index signature.
 */
export function recordModule(name: string, fields: Array<[key: string, field: Field]>, head: string[] = []): Module {
  const files: Files = new Map()
  const imports: string[] = []
  const modules = fields.filter((entry): entry is [string, Module] => typeof entry[1] !== 'string')
  const aliasList = unique(modules.map(([key]) => aliasName(key)))
  const aliases = new Map(modules.map(([key], i) => [key, aliasList[i]!]))
  const lines: string[] = []
  for (const [key, field] of fields) {
    if (typeof field === 'string') {
      lines.push(`  ${JSON.stringify(key)}: ${field}`)
      continue
    }
    const alias = aliases.get(key)!
    for (const [path, content] of field.files) files.set(path, content)
    imports.push(`import * as ${alias} from "./${field.main}"`, `export * as ${alias} from "./${field.main}"`)
    lines.push(`  ${JSON.stringify(key)}: ${alias}.${field.typeName}`)
  }
  files.set('index.ts', [...imports, '', `export type ${name} = {`, ...head.map((l) => `  ${l}`), ...lines, '}', ''].join('\n'))
  return { files, main: 'index', typeName: name }
}

/**
 * A record over named definitions, each made by `entry` and placed under its own file or folder name
 * (`states/user-prefs/...`, `events/reminder.ts`), with the type names `bp gen` gives them.
 */
export function namedRecord<T>(
  name: string,
  definitions: Record<string, T>,
  entry: (file: string, type: string, definition: T) => Module,
  head: string[] = [],
): Module {
  const keys = Object.keys(definitions)
  const files = unique(keys.map(fileName))
  const types = unique(keys.map(typeName))
  return recordModule(
    name,
    keys.map((key, i) => [key, entry(files[i]!, types[i]!, definitions[key]!)]),
    head,
  )
}
