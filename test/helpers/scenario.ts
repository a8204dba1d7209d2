/**
 * The usual data-plane test set-up in one call: a private Redis, named
 * backends, N node daemons on their own loopback addresses, all torn down
 * with the test.
 */
import type { Test } from 'tap'
import { Backend } from './backend'
import { MeshNode } from './mesh'
import { loopback } from './ports'
import { TestRedis } from './redis'

export interface Scenario {
  redis: TestRedis
  backends: Backend[]
  nodes: MeshNode[]
}

export async function meshScenario (t: Test, o: { backends?: string[], nodes?: number, nodeArgs?: string[] } = {}): Promise<Scenario> {
  const redis = await TestRedis.start()
  t.teardown(async () => { await redis.close() })
  const backends = await Promise.all((o.backends ?? ['a']).map(async (name) => await Backend.start(name)))
  t.teardown(async () => { await Promise.all(backends.map(async (b) => await b.close())) })
  const nodes = await Promise.all(Array.from({ length: o.nodes ?? 1 }, async (_, i) => await MeshNode.start(`n${i + 1}`, loopback(), redis.url, o.nodeArgs)))
  t.teardown(async () => { await Promise.all(nodes.map(async (n) => await n.stop())) })
  return { redis, backends, nodes }
}
