/**
 * How definition names become TypeScript and file names in `.botpress`, as `bp gen` spells them:
 * a state `user-prefs` is the type `UserPrefs`, the import alias `userPrefs` and the folder `user-prefs`;
 * a secret `openai-key` is the getter `OPENAI_KEY` read from `SECRET_OPENAI_KEY`.
 */

/** Words that cannot be an import alias. */
const RESERVED = new Set(
  ('break as any case implements boolean catch interface constructor class let declare const package get continue private module ' +
    'debugger protected require default public number delete static set do yield string else symbol enum type export from extends of ' +
    'false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with')
    .split(' '),
)

/** `userPrefs`, `user-prefs`, `USER_PREFS` → `['user', 'prefs']`. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase())
}

const capital = (w: string) => w.charAt(0).toUpperCase() + w.slice(1)
/** An identifier cannot start with a digit or be empty. */
const identifier = (s: string) => (/^[A-Za-z_$]/.test(s) ? s : `_${s}`)

/** `user-prefs` → `UserPrefs`: the name of a generated type. */
export const typeName = (name: string) => identifier(words(name).map(capital).join(''))

/** `user-prefs` → `userPrefs`: an import alias (reserved words get a `_`). */
export function aliasName(name: string): string {
  const [first = '', ...rest] = words(name)
  const alias = identifier(first + rest.map(capital).join(''))
  return RESERVED.has(alias) ? `_${alias}` : alias
}

/** `openai-key` → `OPENAI_KEY`. */
export const screamingSnake = (name: string) => identifier(words(name).join('_').toUpperCase())

/** A file or folder name: characters other than letters, digits, `_`, `-` and `.` become `-`. */
export const fileName = (name: string) => name.replace(/[^a-zA-Z0-9_\-.]/g, '-')

/** The environment variable a secret is read from, as Botpress names it. */
export const secretEnvName = (secret: string) => `SECRET_${screamingSnake(secret)}`

/** Makes names unique among themselves: a second `userPrefs` becomes `userPrefs2`. */
export function unique(names: string[]): string[] {
  const seen = new Set<string>()
  return names.map((name) => {
    let candidate = name
    for (let n = 2; seen.has(candidate.toLowerCase()); n++) candidate = `${name}${n}`
    seen.add(candidate.toLowerCase())
    return candidate
  })
}
