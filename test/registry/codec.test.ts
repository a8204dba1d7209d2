import t from 'tap'
import { decodeRecord } from '../../lib/registry/codec'
import { SCHEMAS, type RecordType } from '../../lib/registry/types'
import { makeSpec } from '../helpers/cluster-fixture'
import { node, task } from '../cli/records'

/** One valid record of each type, with every field set (a service with a check and a previous spec). */
const spec = makeSpec('web', { ports: [{ published: 8080, target: 80, protocol: 'http' }], hosts: ['a.local'], env: { A: '1' }, health: { type: 'http', path: '/h', interval: 1000, timeout: 500, rise: 2, fall: 3 } })
const { previous: _p, ...previous } = spec
const VALID: Record<RecordType, Record<string, unknown>> = {
  service: { ...spec, previous },
  task: { ...task({ id: 't1', serviceId: spec.id, service: 'web', slot: 1, exitCode: 0 }), ports: { 80: 20001 } },
  health: { v: 1, status: 'healthy', at: Date.now(), by: 'n1', detail: 'HTTP 200' },
  node: node({ id: 'n1', name: 'node1' })
}

/** Every field path of a value (nested objects, first list element). */
function paths (v: unknown, prefix: string[] = []): string[][] {
  if (Array.isArray(v)) return v.length === 0 ? [] : paths(v[0], [...prefix, '0'])
  if (typeof v !== 'object' || v === null) return []
  const out: string[][] = []
  for (const [k, x] of Object.entries(v)) {
    out.push([...prefix, k])
    out.push(...paths(x, [...prefix, k]))
  }
  return out
}

function edit (v: unknown, path: string[], f: (o: Record<string, unknown>, k: string) => void): unknown {
  const copy = JSON.parse(JSON.stringify(v)) as Record<string, unknown>
  let o: Record<string, unknown> = copy
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>
  f(o, path[path.length - 1])
  return copy
}

/** A value of a kind the field never has. */
function wrongKind (x: unknown): unknown {
  if (typeof x === 'string') return 42
  if (typeof x === 'number' || typeof x === 'boolean') return 'text'
  if (x === null) return 'text'
  return Array.isArray(x) ? { not: 'a list' } : ['not', 'an object']
}

const OPTIONAL = new Set(['task ports'])

t.test('a valid record of every type decodes, with every field', async (t) => {
  for (const [type, value] of Object.entries(VALID) as Array<[RecordType, unknown]>) {
    const d = decodeRecord(type, JSON.stringify(value))
    t.ok(d.ok, `${type} decodes${d.ok ? '' : `: ${d.reason}`}`)
    if (d.ok) t.same(d.value, value, `${type}: nothing lost or added`)
  }
})

t.test('every malformed shape of every record type is rejected with a reason naming the field', async (t) => {
  for (const [type, value] of Object.entries(VALID) as Array<[RecordType, unknown]>) {
    const d = decodeRecord(type, '{"v":1, "id": "x"')
    t.same(d, { ok: false, reason: 'not valid JSON' }, `${type}: invalid JSON`)
    t.notOk(decodeRecord(type, '[1,2]').ok, `${type}: a list, not an object`)
    const v2 = decodeRecord(type, JSON.stringify({ ...(value as object), v: 2 }))
    t.match(v2, { ok: false, reason: /unknown schema version 2/ }, `${type}: unknown version`)
    const v0 = decodeRecord(type, JSON.stringify({ ...(value as object), v: undefined }))
    t.match(v0, { ok: false, reason: /unknown schema version none/ }, `${type}: no version`)
    for (const path of paths(value)) {
      if (path[0] === 'v') continue
      const name = path.join('.').replace(/\.0(\.|$)/g, '[0]$1')
      const at = path.slice(0, -1)
      const parent = at.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], value)
      // Fields of a map (env, task ports) are keys, not schema fields: only their values have a kind.
      const inMap = (type === 'service' && (at[at.length - 1] === 'env')) || (type === 'task' && at[0] === 'ports')
      const current = (parent as Record<string, unknown>)[path[path.length - 1]]
      if (!inMap && !OPTIONAL.has(`${type} ${name}`) && !Array.isArray(parent)) {
        const missing = decodeRecord(type, JSON.stringify(edit(value, path, (o, k) => { o[k] = undefined })))
        t.match(missing, { ok: false, reason: new RegExp(`"${escape(name)}" must be`) }, `${type}: missing ${name} is rejected naming it`)
      }
      const wrong = decodeRecord(type, JSON.stringify(edit(value, path, (o, k) => { o[k] = wrongKind(current) })))
      t.match(wrong, { ok: false, reason: /must be/ }, `${type}: ${name} of the wrong kind is rejected`)
    }
  }
})

t.test('values out of range or outside an enumeration are rejected', async (t) => {
  const bad: Array<[RecordType, Record<string, unknown>, RegExp]> = [
    ['service', { ...VALID.service, ports: [{ published: 70000, target: 80, protocol: 'http' }] }, /ports\[0\]\.published/],
    ['service', { ...VALID.service, ports: [{ published: 80, target: 80, protocol: 'sctp' }] }, /ports\[0\]\.protocol" must be one of http, tcp, https, tls, udp/],
    ['service', { ...VALID.service, options: { backend: 'h3', cert: null, proxyProtocol: 0, redirectHttps: false } }, /options\.backend" must be one of http1, h2c, h2/],
    ['service', { ...VALID.service, options: { backend: 'h2c', cert: null, proxyProtocol: 3, redirectHttps: false } }, /options\.proxyProtocol/],
    ['service', { ...VALID.service, update: { ...spec.update, order: 'sideways' } }, /update\.order/],
    ['service', { ...VALID.service, replicas: -1 }, /replicas/],
    ['service', { ...VALID.service, replicas: 1.5 }, /replicas/],
    ['service', { ...VALID.service, previous: { ...previous, command: 'not a list' } }, /previous\.command/],
    ['task', { ...VALID.task, state: 'dancing' }, /"state" must be one of/],
    ['task', { ...VALID.task, ports: { 80: 0 } }, /ports\.80/],
    ['health', { ...VALID.health, status: 'maybe' }, /"status"/],
    ['node', { ...VALID.node, availability: 'gone' }, /"availability"/]
  ]
  for (const [type, value, reason] of bad) t.match(decodeRecord(type, JSON.stringify(value)), { ok: false, reason }, `${type}: ${String(reason)}`)
})

t.test('one schema per record type', async (t) => {
  t.same(Object.keys(SCHEMAS).sort(), ['health', 'node', 'service', 'task'])
})

function escape (s: string): string {
  return s.replace(/[.[\]]/g, (c) => `\\${c}`)
}
