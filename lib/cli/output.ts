/**
 * `--format` as docker reads it, for listings (ls, ps) and inspect:
 *   (none) or `table`     the aligned table
 *   `table TEMPLATE`      a table of the template's cells (`\t` between them), headed by the column names
 *   `json`                one JSON object per row (inspect: the JSON array)
 *   TEMPLATE              the template once per row (`{{.Name}}`, `{{json .}}`; template.ts)
 * `\t` and `\n` typed in the format are a tab and a newline, as in docker.
 *
 * One invocation prints in one format: the flag parser validates --format
 * (a bad template is a usage error before anything is read) and sets it
 * here; the table printer (table.ts) and inspect read it.
 */
import { MeshError } from '../errors'
import type { Options } from './flags'
import { execute, parseTemplate, TemplateError, type Template } from './template'

export type OutputFormat =
  | { kind: 'table', template: Template | null }
  | { kind: 'json' }
  | { kind: 'template', template: Template }

export const FORMAT_FLAG: Options = {
  format: {
    type: 'string',
    value: 'FORMAT',
    description: 'Format output: table, json, or a Go template ({{.Name}}, {{json .}}, \'table {{.ID}}\\t{{.Name}}\')',
    default: 'table'
  }
}

let current: OutputFormat = { kind: 'table', template: null }

export function parseFormat (text: string | undefined, usage: (message: string) => MeshError): OutputFormat {
  if (text === undefined || text.trim() === '' || text.trim() === 'table') return { kind: 'table', template: null }
  if (text.trim() === 'json') return { kind: 'json' }
  const isTable = text.trimStart().startsWith('table ')
  const body = (isTable ? text.trimStart().slice('table '.length) : text).trim().replaceAll('\\t', '\t').replaceAll('\\n', '\n')
  try {
    const template = parseTemplate(body)
    return isTable ? { kind: 'table', template } : { kind: 'template', template }
  } catch (err) {
    if (err instanceof TemplateError) throw usage(`--format: ${err.message}`)
    throw err
  }
}

/** Sets the format of this invocation (called by parseFlags for listings and inspect). */
export function configureOutput (text: string | undefined, usage: (message: string) => MeshError): void {
  current = parseFormat(text, usage)
}

export function outputFormat (): OutputFormat {
  return current
}

/** Renders a template; a field the data does not have is a usage error naming the fields it has. */
export function render (t: Template, dot: unknown): string {
  try {
    return execute(t, dot)
  } catch (err) {
    if (err instanceof TemplateError) throw new MeshError('MESH_ERR_USAGE', `--format: ${err.message}`)
    throw err
  }
}
