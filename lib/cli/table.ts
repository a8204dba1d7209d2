/**
 * Listings: docker-style aligned tables (docker's tabwriter settings:
 * minimum cell width 20, padding 3, upper-case headers, last column not
 * padded), or the invocation's --format (output.ts): JSON lines or a Go
 * template per row. A row's fields are named as docker names them: the
 * header in CamelCase (`MANAGER STATUS` -> `.ManagerStatus`, `ID` -> `.ID`).
 */
import { outputFormat, render } from './output'

const MIN_WIDTH = 20
const PADDING = 3

export function formatTable (headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => {
    let w = h.length
    for (const row of rows) w = Math.max(w, (row[i] ?? '').length)
    return Math.max(MIN_WIDTH, w + PADDING)
  })
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 || widths[i] === undefined ? c : c.padEnd(widths[i]))).join('').trimEnd()
  return [line(headers), ...rows.map(line)].join('\n') + '\n'
}

export interface Column<T> {
  header: string
  /** The template/JSON field (`Name`); by default the header in CamelCase. */
  field?: string
  value: (item: T) => string
}

/** `MANAGER STATUS` -> `ManagerStatus`, `ID` -> `ID`. */
export function fieldName (header: string): string {
  return header.split(/\s+/).map((w) => (w === 'ID' ? w : w.charAt(0) + w.slice(1).toLowerCase())).join('')
}

export interface ListOptions {
  /** More field names a template may use, e.g. `{ Image: 'Command' }` for docker's muscle memory (not in JSON). */
  aliases?: Record<string, string>
  out?: NodeJS.WritableStream
}

/** Prints `items` in the invocation's format. */
export function printList<T> (columns: Array<Column<T>>, items: T[], o: ListOptions = {}): void {
  const out = o.out ?? process.stdout
  const fields = columns.map((c) => c.field ?? fieldName(c.header))
  const record = (cells: string[]): Record<string, string> => {
    const r: Record<string, string> = {}
    fields.forEach((f, i) => { r[f] = cells[i] })
    for (const [alias, target] of Object.entries(o.aliases ?? {})) {
      if (Object.hasOwn(r, target)) Object.defineProperty(r, alias, { value: r[target], enumerable: false })
    }
    return r
  }
  const rows = items.map((item) => columns.map((c) => c.value(item)))
  const f = outputFormat()
  if (f.kind === 'json') {
    out.write(rows.map((cells) => `${JSON.stringify(record(cells))}\n`).join(''))
    return
  }
  if (f.kind === 'template') {
    out.write(rows.map((cells) => `${render(f.template, record(cells))}\n`).join(''))
    return
  }
  if (f.template !== null) {
    const template = f.template
    const headers = render(template, record(columns.map((c) => c.header))).split('\t')
    out.write(formatTable(headers, rows.map((cells) => render(template, record(cells)).split('\t'))))
    return
  }
  out.write(formatTable(columns.map((c) => c.header), rows))
}

/** A table given as headers and string rows; fields named after the headers. */
export function printTable (headers: string[], rows: string[][], out: NodeJS.WritableStream = process.stdout): void {
  printList(headers.map((header, i) => ({ header, value: (row: string[]) => row[i] ?? '' })), rows, { out })
}
