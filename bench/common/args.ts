/**
 * A tiny argv parser for bench scripts: `--name value` (repeatable), `--flag`.
 * Bench scripts take few flags; a dependency would cost more than this.
 */
export interface Args {
  /** Last value of a flag, or the default. */
  get: (name: string, dflt: string) => string
  /** Every value of a repeatable flag. */
  all: (name: string) => string[]
  has: (name: string) => boolean
  num: (name: string, dflt: number) => number
}

export function parseArgs (argv: string[] = process.argv.slice(2)): Args {
  const values = new Map<string, string[]>()
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}": flags are --name value`)
    const eq = a.indexOf('=')
    let name: string
    let value: string
    if (eq > 0) {
      name = a.slice(2, eq)
      value = a.slice(eq + 1)
    } else {
      name = a.slice(2)
      const next = argv[i + 1]
      if (next === undefined || next.startsWith('--')) value = 'true'
      else { value = next; i++ }
    }
    const list = values.get(name)
    if (list === undefined) values.set(name, [value])
    else list.push(value)
  }
  return {
    get: (name, dflt) => values.get(name)?.at(-1) ?? dflt,
    all: (name) => values.get(name) ?? [],
    has: (name) => values.has(name),
    num: (name, dflt) => {
      const v = values.get(name)?.at(-1)
      if (v === undefined) return dflt
      const n = Number(v)
      if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${v}"`)
      return n
    }
  }
}

export interface HostPort { host: string, port: number }

/** Parses `host:port`; only loopback hosts (127.0.0.0/8) are accepted: the bench never leaves the machine. */
export function hostPort (text: string, flag: string): HostPort {
  const i = text.lastIndexOf(':')
  const host = text.slice(0, i)
  const port = Number(text.slice(i + 1))
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`--${flag} "${text}" is not host:port (for example 127.0.0.51:9001)`)
  }
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) {
    throw new Error(`--${flag} "${text}": only loopback addresses (127.0.0.0/8) are allowed in benchmarks`)
  }
  return { host, port }
}
