/** Constructors for registry records, so every writer fills every field the same way. */
import { SCHEMA_VERSION, type ServiceSpec, type TaskRecord } from './types'

export type TaskInit = Pick<TaskRecord, 'id' | 'slot' | 'node' | 'static' | 'host' | 'port' | 'state'> & Partial<TaskRecord>

/** A task of `spec` wanted running; the rest of its fields start empty. */
export function taskRecord (spec: ServiceSpec, init: TaskInit, now: number): TaskRecord {
  return {
    v: SCHEMA_VERSION,
    serviceId: spec.id,
    service: spec.name,
    desired: 'running',
    error: '',
    specVersion: spec.version,
    createdAt: now,
    stateAt: now,
    pid: 0,
    exitCode: null,
    restarts: 0,
    ...init
  }
}
