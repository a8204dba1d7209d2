/**
 * Docker-style aligned tables: Docker's tabwriter settings (minimum cell
 * width 20, padding 3), upper-case headers, last column not padded.
 */
const MIN_WIDTH = 20
const PADDING = 3

export function formatTable (headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => {
    let w = h.length
    for (const row of rows) w = Math.max(w, (row[i] ?? '').length)
    return Math.max(MIN_WIDTH, w + PADDING)
  })
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('').trimEnd()
  return [line(headers), ...rows.map(line)].join('\n') + '\n'
}

export function printTable (headers: string[], rows: string[][], out: NodeJS.WritableStream = process.stdout): void {
  out.write(formatTable(headers, rows))
}
