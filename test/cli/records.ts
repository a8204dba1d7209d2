/** Registry records for CLI tests that play the scheduler/agents. */
import type { NodeRecord, TaskRecord } from '../../lib/registry/types'

export function task (over: Partial<TaskRecord> & Pick<TaskRecord, 'id' | 'serviceId' | 'service' | 'slot'>): TaskRecord {
  const now = Date.now()
  return {
    v: 1, node: '', static: false, host: '127.0.0.1', port: 20000, desired: 'running', state: 'running', error: '',
    specVersion: 1, createdAt: now, stateAt: now, pid: 0, exitCode: null, restarts: 0, ...over
  }
}

export function node (over: Partial<NodeRecord> & Pick<NodeRecord, 'id' | 'name'>): NodeRecord {
  return { v: 1, addr: '127.0.0.1', role: 'worker', availability: 'active', joinedAt: Date.now(), status: 'ready', admin: '', ...over }
}
