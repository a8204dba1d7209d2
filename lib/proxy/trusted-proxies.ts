/**
 * proxy.trustedProxies: the peers (load balancers in front of the nodes)
 * whose forwarding headers are believed. Checked once per connection.
 */
import { BlockList, isIPv6 } from 'node:net'

export class TrustedProxies {
  readonly #list: BlockList | null

  /** `cidrs`: canonical `address/prefix` strings (validated by the config loader). */
  constructor (cidrs: readonly string[]) {
    if (cidrs.length === 0) {
      this.#list = null
      return
    }
    const list = new BlockList()
    for (const cidr of cidrs) {
      const slash = cidr.indexOf('/')
      const addr = cidr.slice(0, slash)
      list.addSubnet(addr, Number(cidr.slice(slash + 1)), isIPv6(addr) ? 'ipv6' : 'ipv4')
    }
    this.#list = list
  }

  has (address: string): boolean {
    if (this.#list === null || address === '') return false
    return this.#list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4')
  }
}
