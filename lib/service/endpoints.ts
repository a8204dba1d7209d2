/**
 * Static endpoints (`--endpoint HOST:PORT`): stored as TaskRecords with
 * static = true, node = '', keyed by staticTaskId, always desired/running.
 */
import { MeshError } from '../errors'
import { staticTaskId } from '../registry/ids'
import { taskRecord } from '../registry/records'
import type { ServiceSpec, TaskRecord } from '../registry/types'
import { formatHostPort, parseHostPort, type HostPort } from '../util/address'

export function parseEndpoints (texts: string[], what = '--endpoint'): HostPort[] {
  const seen = new Set<string>()
  const out: HostPort[] = []
  for (const text of texts) {
    const ep = parseHostPort(text, what)
    const key = formatHostPort(ep.host, ep.port)
    if (seen.has(key)) throw new MeshError('MESH_ERR_INVALID_ENDPOINT', `${what}: ${key} is given twice`)
    seen.add(key)
    out.push(ep)
  }
  return out
}

export function staticTask (spec: ServiceSpec, ep: HostPort, slot: number, now: number): TaskRecord {
  return taskRecord(spec, { id: staticTaskId(spec.id, ep.host, ep.port), slot, node: '', static: true, host: ep.host, port: ep.port, state: 'running' }, now)
}

export function endpointKey (t: Pick<TaskRecord, 'host' | 'port'>): string {
  return formatHostPort(t.host, t.port)
}
