const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }

/** Reads a duration such as `+90m`, `2h`, `+1d`, `30s` or `45` (seconds) as seconds; undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = /^\+?(\d+(?:\.\d+)?)([smhdw]?)$/.exec(text.trim())
  if (!match) return undefined
  return Number(match[1]) * units[match[2] || 's']!
}
