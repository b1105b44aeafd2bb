import type { Result } from './row.ts'

/** A number with three significant figures, thousands grouped. */
export function figure(n: number | null): string {
  if (n === null) return '–'
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US')
  return Number(n.toPrecision(3)).toString()
}

/** The results as a markdown table, with each row's note below it. */
export function formatTable(results: Result[]): string {
  const lines = [
    '| row | localbot | baseline | ratio | target | met |',
    '|---|---:|---:|---:|---|:---:|',
    ...results.map(
      (r) =>
        `| ${r.name} | ${figure(r.value)} ${r.unit} | ${r.baseline === null ? '–' : `${figure(r.baseline)} ${r.unit}`} | ${r.ratio === null ? '–' : figure(r.ratio)} | ${r.target} | ${r.met ? 'yes' : '**no**'} |`,
    ),
  ]
  const notes = results.filter((r) => r.note).map((r) => `- ${r.name}: ${r.note}`)
  return [...lines, '', ...notes].join('\n')
}
