// @ts-check
/**
 * A small, safe subset of Markdown, built as DOM nodes (never HTML): paragraphs and line breaks, `#` headings,
 * `-`/`*`/`1.` lists, `>` quotes, fenced code; inline `code`, **bold**, *italic*, [links](url) and bare URLs.
 * Anything else stays as the text it is.
 */
import { el, link } from './dom.js'

/**
 * One alternative per inline form, in order: code, bold, italic, a link, a bare URL. Emphasis needs no word
 * character just outside it, so snake_case and 2*3*4 stay as they are.
 */
const INLINE =
  /`([^`\n]+)`|(?<![\w*])\*\*([^*\n]+)\*\*(?![\w*])|(?<![\w_])__([^_\n]+)__(?![\w_])|(?<![\w*])\*([^*\s](?:[^*\n]*[^*\s])?)\*(?![\w*])|(?<![\w_])_([^_\s](?:[^_\n]*[^_\s])?)_(?![\w_])|\[([^\]\n]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>]*[^\s<>.,;:!?)\]'"])/g

/**
 * The inline nodes of one line of text.
 * @param {string} text
 * @returns {(Node | string)[]}
 */
function inline(text) {
  /** @type {(Node | string)[]} */
  const out = []
  let at = 0
  for (const m of text.matchAll(INLINE)) {
    if (m.index > at) out.push(text.slice(at, m.index))
    const [whole, code, bold1, bold2, em1, em2, label, href, bare] = m
    if (code !== undefined) out.push(el('code', { text: code }))
    else if (bold1 !== undefined || bold2 !== undefined) out.push(el('strong', {}, ...inline(bold1 ?? bold2 ?? '')))
    else if (em1 !== undefined || em2 !== undefined) out.push(el('em', {}, ...inline(em1 ?? em2 ?? '')))
    else if (label !== undefined) out.push(link(href, label))
    else if (bare !== undefined) out.push(link(bare, bare))
    else out.push(whole)
    at = m.index + whole.length
  }
  if (at < text.length) out.push(text.slice(at))
  return out
}

/**
 * Lines joined with line breaks, each rendered inline.
 * @param {string[]} lines
 */
function lines(lines) {
  return lines.flatMap((line, i) => (i === 0 ? inline(line) : [el('br'), ...inline(line)]))
}

const LIST_ITEM = /^\s*(?:[-*+]|\d+[.)])\s+/

/**
 * Markdown as a fragment of block elements.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment()
  const all = text.replace(/\r\n?/g, '\n').split('\n')
  let i = 0
  while (i < all.length) {
    const line = all[i]
    if (line.trim() === '') {
      i++
    } else if (line.startsWith('```')) {
      const body = []
      for (i++; i < all.length && !all[i].startsWith('```'); i++) body.push(all[i])
      i++
      fragment.append(el('pre', {}, el('code', { text: body.join('\n') })))
    } else if (/^#{1,6}\s/.test(line)) {
      fragment.append(el('p', { className: 'heading' }, el('strong', {}, ...inline(line.replace(/^#+\s+/, '')))))
      i++
    } else if (LIST_ITEM.test(line)) {
      const ordered = /^\s*\d/.test(line)
      const list = el(ordered ? 'ol' : 'ul')
      for (; i < all.length && LIST_ITEM.test(all[i]); i++) list.append(el('li', {}, ...inline(all[i].replace(LIST_ITEM, ''))))
      fragment.append(list)
    } else if (line.startsWith('>')) {
      const quoted = []
      for (; i < all.length && all[i].startsWith('>'); i++) quoted.push(all[i].replace(/^>\s?/, ''))
      fragment.append(el('blockquote', {}, ...lines(quoted)))
    } else {
      const paragraph = []
      for (; i < all.length && all[i].trim() !== '' && !all[i].startsWith('```') && !/^#{1,6}\s/.test(all[i]) && !LIST_ITEM.test(all[i]) && !all[i].startsWith('>'); i++)
        paragraph.push(all[i])
      fragment.append(el('p', {}, ...lines(paragraph)))
    }
  }
  return fragment
}
