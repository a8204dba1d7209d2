/**
 * Help text, generated from the same specs the parser reads: `mesh --help`
 * and `mesh service --help` list the command table; `mesh COMMAND --help`
 * (and `mesh help COMMAND`) print the command's usage, what it does, and
 * every flag with its description and default, laid out like docker's.
 */
import { COMMANDS, GROUPS, commandsIn } from './command-table'
import type { CommandSpec, Options } from './flags'

/**
 * Descriptions for flags of commands whose spec does not describe them yet
 * (the membership commands' specs live with their own commands); a spec's
 * own description and default win.
 */
const FLAG_DOCS: Record<string, Pick<Options[string], 'description' | 'default' | 'value' | 'choices'>> = {
  quiet: { description: 'Only display IDs' },
  force: { description: 'Force the removal of a node that is still up' },
  availability: { description: 'Availability of the node ("active", "pause", "drain")', value: 'AVAILABILITY', choices: ['active', 'pause', 'drain'] },
  nodes: { description: 'Number of node daemons to start (node1 is a manager)', default: '3', value: 'N' },
  'base-port': { description: 'Admin port of every node (127.0.0.<i>:PORT)', default: '9180', value: 'PORT' },
  set: { description: 'Set a configuration key for the whole cluster', value: 'section.key=value' },
  demo: { description: 'Also create the demo service (3 replicas of mesh whoami on port 80, 8080 when not root)' }
}

/** A flag with the shared descriptions filled in where its spec has none. */
export function documented (name: string, o: Options[string]): Options[string] {
  const doc = FLAG_DOCS[name]
  if (doc === undefined) return o
  return { ...o, description: o.description ?? doc.description, default: o.default ?? doc.default, value: o.value ?? doc.value, choices: o.choices ?? doc.choices }
}

/** `-d, --detach` / `    --publish PUB:TARGET`: the left column of one flag. */
export function flagLabel (name: string, o: Options[string]): string {
  const value = o.type === 'string' ? ` ${o.value ?? 'string'}` : ''
  return `${o.short !== undefined ? `-${o.short}, ` : '    '}--${name}${value}`
}

/** One line per flag, sorted by name, the descriptions in one column. */
export function flagLines (all: Options): string[] {
  const options: Options = {}
  for (const [name, o] of Object.entries(all)) options[name] = documented(name, o)
  const names = Object.keys(options).sort()
  const labels = names.map((n) => flagLabel(n, options[n]))
  const width = Math.max(...labels.map((l) => l.length)) + 3
  return names.map((n, i) => {
    const o = options[n]
    const notes: string[] = []
    if (o.multiple === true) notes.push('repeatable')
    if (o.default !== undefined) notes.push(`default ${o.default}`)
    const text = `${o.description ?? ''}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`
    return `  ${labels[i].padEnd(width)}${text}`.trimEnd()
  })
}

/** `mesh NAME --help`. `options` is every flag the command accepts (flags.ts flagsOf). */
export function describeCommand (spec: CommandSpec, options: Options): string {
  const about = spec.description ?? COMMANDS[spec.name]?.summary ?? ''
  const usage = spec.usage.includes('OPTIONS') ? spec.usage : `[OPTIONS]${spec.usage === '' ? '' : ` ${spec.usage}`}`
  return [`Usage:  mesh ${spec.name} ${usage}`, '', about, '', 'Options:', ...flagLines(options)].join('\n') + '\n'
}

/** `mesh --help` (group undefined) or `mesh service --help`. */
export function describeCommands (group?: string): string {
  const lines = group === undefined
    ? ['Usage:  mesh [--redis URL] COMMAND', '', 'A routing-mesh load balancer on a Redis registry, driven like docker service / docker node', '']
    : [`Usage:  mesh ${group} COMMAND`, '', GROUPS[group] ?? '', '']
  const entries = commandsIn(group).filter(([words]) => group !== undefined || !words.includes(' '))
  if (group === undefined) {
    lines.push('Management Commands:')
    for (const [g, summary] of Object.entries(GROUPS)) lines.push(`  ${g.padEnd(18)} ${summary}`)
    lines.push('')
  }
  lines.push('Commands:')
  for (const [words, c] of entries) lines.push(`  ${(group === undefined ? words : words.slice(group.length + 1)).padEnd(18)} ${c.summary}`)
  lines.push('', 'Global options:', '      --redis URL    Registry to use (default MESH_REDIS_URL, .mesh/cluster.json or redis://127.0.0.1:6379)',
    '  -h, --help         Print usage', '  -v, --version      Print the version and exit', '',
    `Run 'mesh${group === undefined ? '' : ` ${group}`} COMMAND --help' for more information on a command.`)
  return lines.join('\n') + '\n'
}
