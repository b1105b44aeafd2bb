/** `.botpress/secrets/index.ts`: `secrets.NAME` reads `SECRET_NAME` from the environment, as Botpress's does. */
import { screamingSnake, secretEnvName } from './names.ts'

/** What the generator reads of a secret's definition. */
export type SecretDefinition = { optional?: boolean; description?: string }

/** The secrets module: a getter per secret; a required one that is missing or empty throws when read. */
export function secretsIndex(secrets: Record<string, SecretDefinition>): string {
  const getters = Object.entries(secrets).map(([name, { optional, description }]) => {
    const read = `process.env.${secretEnvName(name)}`
    const doc = description ? `  /** ${description.replace(/\s+/g, ' ').replace(/\*\//g, '*\\/')} */\n` : ''
    return optional
      ? `${doc}  public get ${screamingSnake(name)}(): string | undefined {\n    return ${read}\n  }`
      : `${doc}  public get ${screamingSnake(name)}(): string {\n    const value = ${read}\n` +
          `    if (!value) throw new Error(${JSON.stringify(`Missing required secret "${name}" (set ${secretEnvName(name)})`)})\n    return value\n  }`
  })
  return ['class Secrets {', ...getters, '}', '', 'export const secrets = new Secrets()', ''].join('\n')
}
