/**
 * The one place that builds LevelDB keys and range bounds.
 *
 * A key is a list of string segments. Each segment is escaped so that it never contains the
 * separator, and segments are joined by the separator:
 *
 *   SEP = \u0000 between segments
 *   \u0000 -> \u0001\u0001,  \u0001 -> \u0001\u0002,  a lone surrogate -> \u0001\u0003XXXX (hex)
 *
 * Lone surrogates are escaped because keys are stored as UTF-8, where every lone surrogate would
 * collapse to U+FFFD and two different ids could share a key. With this encoding, decode(encode(s)) = s
 * for every JS string list, encode is injective, and the children of a key all sort strictly between
 * `childrenOf(k).gt` and `childrenOf(k).lt`: no id can name a key outside its own prefix.
 */

const SEP = '\u0000'
const ESC = '\u0001'
/** Above every separator, below every escaped segment's continuation: the end of a prefix range. */
const SEP_END = '\u0001'

/** Whether a segment has a character to escape: a separator, an escape or a surrogate (paired or not). */
function needsEscape(segment: string): boolean {
  // A loop over char codes: 2–3× faster than a regex test on the short ids keys are made of.
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i)
    if (c <= 1 || (c >= 0xd800 && c <= 0xdfff)) return true
  }
  return false
}

function escapeSegment(segment: string): string {
  if (!needsEscape(segment)) return segment
  let out = ''
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i)
    if (c === 0) out += ESC + '\u0001'
    else if (c === 1) out += ESC + '\u0002'
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < segment.length) {
      const d = segment.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += segment[i] + segment[i + 1]
        i++
      } else out += ESC + '\u0003' + c.toString(16).padStart(4, '0')
    } else if (c >= 0xd800 && c <= 0xdfff) out += ESC + '\u0003' + c.toString(16).padStart(4, '0')
    else out += segment[i]
  }
  return out
}

function unescapeSegment(segment: string): string {
  if (!segment.includes(ESC)) return segment
  let out = ''
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i]
    if (ch !== ESC) {
      out += ch
      continue
    }
    const kind = segment[++i]
    if (kind === '\u0001') out += '\u0000'
    else if (kind === '\u0002') out += '\u0001'
    else if (kind === '\u0003') {
      out += String.fromCharCode(parseInt(segment.slice(i + 1, i + 5), 16))
      i += 4
    } else throw new Error('corrupt key segment')
  }
  return out
}

/** Encodes a list of segments as one key. */
export function key(...segments: string[]): string {
  if (segments.length === 0) return ''
  let out = escapeSegment(segments[0]!)
  for (let i = 1; i < segments.length; i++) out += SEP + escapeSegment(segments[i]!)
  return out
}

/** `key(...first, ...rest)` when `head` is `key(...first)` (a prefix encoded once and kept). */
export function keyUnder(head: string, ...rest: string[]): string {
  let out = head
  for (let i = 0; i < rest.length; i++) out += SEP + escapeSegment(rest[i]!)
  return out
}

/** Splits a key made by `key()` back into its segments. */
export function decodeKey(encoded: string): string[] {
  return encoded.split(SEP).map(unescapeSegment)
}

/** A range over every key that has `prefix` (a list of whole segments) as its first segments. */
export type Range = { gt: string; lt: string }

/** The range of keys strictly below the key of `segments`. */
export function childrenOf(...segments: string[]): Range {
  const k = key(...segments)
  // Not `gt: k + SEP`: that is the key of `[...segments, '']`, a child. Nothing sorts between `k` and `k + SEP`.
  return { gt: k, lt: k + SEP_END }
}

/** Whether `k` lies inside `range`. */
export function inRange(k: string, range: Range): boolean {
  return k > range.gt && k < range.lt
}

const TIME_WIDTH = 15

/** A millisecond time as a fixed-width segment, so that keys sort by time. */
export function timeSegment(ms: number): string {
  return intSegment(ms, 'time')
}

/** A non-negative integer (a count, a row id, a size) as a fixed-width segment, so that keys sort by it. */
export function intSegment(n: number, what = 'integer'): string {
  // 15 digits hold every time up to the year 33658; a wider number would sort before narrower ones.
  if (!Number.isSafeInteger(n) || n < 0 || n >= 10 ** TIME_WIDTH) throw new RangeError(`${what} out of range: ${n}`)
  return String(n).padStart(TIME_WIDTH, '0')
}

/** Reads a segment made by `timeSegment`. */
export function parseTimeSegment(segment: string): number {
  return Number(segment)
}
