/**
 * The leader's answer to join requests (node/join-protocol.ts): for a valid
 * request whose name no member has, it creates the node (its own Redis
 * user with the rules of the token's role, and its records: node/provision.ts)
 * and replies with the credential sealed to the requester's key; otherwise
 * it replies with the reason. Each request is answered once (the reply key
 * is set only if absent), whichever leader sees it.
 */
import { isIP } from 'node:net'
import type { NodeContext } from '../node/context'
import { requestKey, seal, type JoinReply } from '../node/join-protocol'
import { provisionNode } from '../node/provision'
import { describeRegistryError } from '../registry/errors'
import type { Logger } from '../util/log'
import type { JoinHandler } from './inbox'
import type { Lease } from './lease'

/** How long a reply waits for its joiner. */
export const REPLY_TTL_S = 120

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/
const HOST = /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,252})$/
const REQUEST_ID = /^[0-9a-z]{25}$/

export class JoinDesk implements JoinHandler {
  readonly #ctx: NodeContext
  readonly #lease: Lease
  readonly #log: Logger
  /** Names this desk gave out that the feed may not show yet. */
  readonly #recent = new Map<string, number>()

  constructor (ctx: NodeContext, lease: Lease, log: Logger) {
    this.#ctx = ctx
    this.#lease = lease
    this.#log = log
  }

  async handle (role: 'worker' | 'manager', entryId: string, fields: string[]): Promise<void> {
    const f: Record<string, string> = {}
    for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1]
    const req = f.req ?? ''
    if (!REQUEST_ID.test(req)) {
      this.#log.once(`join ${entryId}`, 'warn', `ignored a malformed join request (${entryId}): no request id`)
      return
    }
    const { store } = this.#ctx
    const replyKey = store.keys.joinReply(req)
    try {
      if (await store.redis.exists(replyKey) === 1) return // answered already (by this leader or the last one)
      const reply = await this.#answer(role, f)
      await store.redis.set(replyKey, JSON.stringify(reply), 'EX', REPLY_TTL_S, 'NX')
    } catch (err) {
      this.#log.warn(`join request ${req} of ${JSON.stringify(f.name ?? '')} could not be answered: ${describeRegistryError(err)}`)
    }
  }

  async #answer (role: 'worker' | 'manager', f: Record<string, string>): Promise<JoinReply> {
    const name = f.name ?? ''
    const addr = f.addr ?? ''
    const key = requestKey(f.key ?? '')
    if (f.v !== '1') return { ok: false, error: `join request version ${JSON.stringify(f.v ?? '')} is not 1 (another version of mesh?)` }
    if (!NAME.test(name)) return { ok: false, error: `--name "${name}" is not a valid node name (letters, digits, _ . -, starting with a letter or digit)` }
    if (isIP(addr) === 0 && !HOST.test(addr)) return { ok: false, error: `--advertise "${addr}" is not an IP address or host name` }
    if (key === null) return { ok: false, error: 'the join request carries no usable public key' }
    const taken = [...this.#ctx.feed.state.nodes.values()].find((n) => n.name === name)
    const now = Date.now()
    for (const [n, at] of this.#recent) if (now - at > 60_000) this.#recent.delete(n)
    if (taken !== undefined || this.#recent.has(name)) {
      const which = taken === undefined ? 'a moment ago' : `${taken.id.slice(0, 12)}, ${taken.status}`
      return { ok: false, error: `a node named ${name} is already a member (${which}): give this one another --name, or remove that one first (mesh node rm ${name})` }
    }
    this.#recent.set(name, now)
    if (!this.#lease.leader) return { ok: false, error: 'the manager that read the request stopped leading; try again' }
    const p = await provisionNode(this.#ctx.store, { name, addr, role, fence: this.#lease.token }).catch((err: unknown) => {
      this.#recent.delete(name)
      throw err
    })
    this.#log.info(`node ${name} (${p.nodeId.slice(0, 12)}) joined as ${role} at ${addr}; its credential is Redis user ${p.user}`)
    return { ok: true, sealed: seal(key, { nodeId: p.nodeId, user: p.user, password: p.password, role, cluster: this.#ctx.feed.state.epoch }) }
  }
}
