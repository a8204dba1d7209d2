/** Ids every writer derives the same way. */
import { stableId } from '../util/ids'

/** A node keeps its id across restarts of its daemon (by name). */
export function nodeIdFor (name: string): string {
  return stableId(`node:${name}`)
}

/** A static endpoint's task id: stable per service and address, never a list position. */
export function staticTaskId (serviceId: string, host: string, port: number): string {
  return stableId(`static:${serviceId}:${host}:${port}`)
}
