/**
 * The subset of Go's text/template that docker's `--format` users type:
 * `{{.Name}}`, `{{.Spec.Name}}` (field chains), `{{json .}}`, pipelines
 * (`{{.Name | upper}}`), string and number arguments, `{{-`/`-}}` trimming,
 * and docker's functions json, upper, lower, title, join, split, pad,
 * truncate, println. Control actions (range, if, with...) are refused with
 * a message saying what is supported.
 *
 * A field is looked up exactly, then case-insensitively (so `{{.ID}}` and
 * `{{.Name}}` read the `id` and `name` of a JSON record, as docker's
 * exported Go fields would); a field that is not there is an error naming
 * the fields that are (Go's missingkey=error, as docker inspect uses).
 */

export class TemplateError extends Error {}

type Value = unknown
type Term = { kind: 'dot', path: string[] } | { kind: 'literal', value: Value } | { kind: 'fn', name: string }
type Command = Term[]
type Node = { kind: 'text', text: string } | { kind: 'action', pipeline: Command[], source: string }

export interface Template { nodes: Node[], source: string }

const CONTROL = new Set(['range', 'if', 'with', 'else', 'end', 'define', 'template', 'block', 'break', 'continue'])
const SUPPORTED = 'mesh --format takes fields ({{.Name}}, {{.Spec.Name}}), pipelines and the functions json, upper, lower, title, join, split, pad, truncate, println'

/** Go's default printing of a value (%v), with objects as JSON. */
export function show (v: Value): string {
  if (v === undefined) return '<no value>'
  if (v === null) return '<nil>'
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v)
  if (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object')) return `[${v.map(show).join(' ')}]`
  return JSON.stringify(v)
}

const str = (v: Value, fn: string): string => {
  if (typeof v !== 'string') throw new TemplateError(`${fn}: wants a string, got ${show(v)}`)
  return v
}
const num = (v: Value, fn: string): number => {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TemplateError(`${fn}: wants a whole number, got ${show(v)}`)
  return v
}

const FUNCTIONS: Record<string, { arity: number | null, call: (args: Value[]) => Value }> = {
  json: { arity: 1, call: ([v]) => JSON.stringify(v ?? null) },
  upper: { arity: 1, call: ([v]) => str(v, 'upper').toUpperCase() },
  lower: { arity: 1, call: ([v]) => str(v, 'lower').toLowerCase() },
  title: { arity: 1, call: ([v]) => str(v, 'title').replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase()) },
  join: {
    arity: 2,
    call: ([list, sep]) => {
      if (!Array.isArray(list)) throw new TemplateError(`join: wants a list, got ${show(list)}`)
      return list.map(show).join(str(sep, 'join'))
    }
  },
  split: { arity: 2, call: ([s, sep]) => str(s, 'split').split(str(sep, 'split')) },
  pad: { arity: 3, call: ([s, l, r]) => `${' '.repeat(Math.max(0, num(l, 'pad')))}${show(s)}${' '.repeat(Math.max(0, num(r, 'pad')))}` },
  truncate: { arity: 2, call: ([s, n]) => [...str(s, 'truncate')].slice(0, Math.max(0, num(n, 'truncate'))).join('') },
  println: { arity: null, call: (args) => `${args.map(show).join(' ')}\n` }
}

function tokenize (src: string): string[] {
  const out: string[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (/\s/.test(c)) { i++; continue }
    if (c === '|' || c === '(' || c === ')') { out.push(c); i++; continue }
    if (c === '"') {
      let j = i + 1
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1
      if (j >= src.length) throw new TemplateError(`unterminated string in {{${src}}}`)
      out.push(src.slice(i, j + 1))
      i = j + 1
      continue
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1)
      if (j < 0) throw new TemplateError(`unterminated raw string in {{${src}}}`)
      out.push(src.slice(i, j + 1))
      i = j + 1
      continue
    }
    let j = i
    while (j < src.length && !/[\s|()]/.test(src[j])) j++
    out.push(src.slice(i, j))
    i = j
  }
  return out
}

function term (tok: string, src: string): Term {
  if (tok === '.') return { kind: 'dot', path: [] }
  if (tok.startsWith('.')) {
    const path = tok.slice(1).split('.')
    if (path.some((p) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p))) throw new TemplateError(`bad field "${tok}" in {{${src}}}`)
    return { kind: 'dot', path }
  }
  if (tok.startsWith('"')) {
    try {
      return { kind: 'literal', value: JSON.parse(tok) as string }
    } catch {
      throw new TemplateError(`bad string ${tok} in {{${src}}}`)
    }
  }
  if (tok.startsWith('`')) return { kind: 'literal', value: tok.slice(1, -1) }
  if (/^-?\d+$/.test(tok)) return { kind: 'literal', value: Number(tok) }
  if (tok === 'true' || tok === 'false') return { kind: 'literal', value: tok === 'true' }
  if (CONTROL.has(tok)) throw new TemplateError(`{{${tok}}} is not supported: ${SUPPORTED}`)
  if (FUNCTIONS[tok] === undefined) throw new TemplateError(`function "${tok}" not defined: ${SUPPORTED}`)
  return { kind: 'fn', name: tok }
}

function pipeline (src: string): Command[] {
  const toks = tokenize(src)
  if (toks.length === 0) throw new TemplateError('empty action {{}}')
  if (toks.includes('(') || toks.includes(')')) throw new TemplateError(`parentheses are not supported in {{${src}}}: ${SUPPORTED}`)
  const commands: Command[] = [[]]
  for (const tok of toks) {
    if (tok === '|') {
      if (commands[commands.length - 1].length === 0) throw new TemplateError(`missing command before | in {{${src}}}`)
      commands.push([])
      continue
    }
    commands[commands.length - 1].push(term(tok, src))
  }
  if (commands[commands.length - 1].length === 0) throw new TemplateError(`missing command after | in {{${src}}}`)
  commands.forEach((c, i) => {
    if (c.length > 1 && c[0].kind !== 'fn') throw new TemplateError(`can't give argument to non-function in {{${src}}}`)
    if (i > 0 && c[0].kind !== 'fn') throw new TemplateError(`only functions may follow | in {{${src}}}`)
    if (c[0].kind === 'fn') {
      const f = FUNCTIONS[c[0].name]
      const given = c.length - 1 + (i > 0 ? 1 : 0)
      if (f.arity !== null && given !== f.arity) throw new TemplateError(`wrong number of args for ${c[0].name}: want ${f.arity} got ${given}`)
    }
  })
  return commands
}

/** Parses `source`; throws TemplateError naming what is wrong. */
export function parseTemplate (source: string): Template {
  const nodes: Node[] = []
  let i = 0
  while (i < source.length) {
    const open = source.indexOf('{{', i)
    if (open < 0) { nodes.push({ kind: 'text', text: source.slice(i) }); break }
    let text = source.slice(i, open)
    let start = open + 2
    if (source.startsWith('- ', start) || source.startsWith('-\t', start) || source.startsWith('-\n', start)) { text = text.replace(/\s+$/, ''); start++ }
    if (text !== '') nodes.push({ kind: 'text', text })
    const close = source.indexOf('}}', start)
    if (close < 0) throw new TemplateError(`unclosed action: ${source.slice(open)}`)
    let end = close
    let trimAfter = false
    if (/\s-$/.test(source.slice(start, close))) { end = close - 1; trimAfter = true }
    const inner = source.slice(start, end).trim()
    nodes.push({ kind: 'action', pipeline: pipeline(inner), source: inner })
    i = close + 2
    if (trimAfter) while (i < source.length && /\s/.test(source[i])) i++
  }
  return { nodes, source }
}

function field (v: Value, name: string, path: string[]): Value {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new TemplateError(`can't evaluate field ${name} in .${path.join('.')}: not an object`)
  }
  const o = v as Record<string, Value>
  if (Object.hasOwn(o, name)) return o[name]
  const lower = name.toLowerCase()
  const key = Object.keys(o).find((k) => k.toLowerCase() === lower)
  if (key !== undefined) return o[key]
  throw new TemplateError(`can't evaluate field ${name}: the fields are ${Object.keys(o).join(', ')}`)
}

function evalTerm (t: Term, dot: Value): Value {
  if (t.kind === 'literal') return t.value
  if (t.kind === 'dot') {
    let v = dot
    t.path.forEach((name, i) => { v = field(v, name, t.path.slice(0, i)) })
    return v
  }
  throw new TemplateError(`function ${t.name} used as a value`)
}

/** Renders `t` with `.` = `dot`. */
export function execute (t: Template, dot: Value): string {
  let out = ''
  for (const n of t.nodes) {
    if (n.kind === 'text') { out += n.text; continue }
    let piped: Value
    n.pipeline.forEach((cmd, i) => {
      const head = cmd[0]
      if (head.kind !== 'fn') { piped = evalTerm(head, dot); return }
      const args = cmd.slice(1).map((a) => evalTerm(a, dot))
      if (i > 0) args.push(piped)
      piped = FUNCTIONS[head.name].call(args)
    })
    out += show(piped)
  }
  return out
}
