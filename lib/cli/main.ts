#!/usr/bin/env node
/**
 * `mesh`: the command-line entry. Finds the command in COMMANDS, loads its
 * module lazily and runs it; every command module exports
 * `run(argv): Promise<number>` (the exit code).
 *
 * Errors: a MeshError prints one line `mesh: error: <message>` and exits 1
 * (2 for usage errors). Commands validate everything before writing.
 */
import { debuglog } from 'node:util'
import { MeshError, isMeshError } from '../errors'
import { hasSecret, redactUrl } from '../util/redact'

const debug = debuglog('mesh:cli')

type Run = (argv: string[]) => Promise<number>

/** Command words -> module under ./commands (required only when used). */
export const COMMANDS: Record<string, { module: string, summary: string }> = {
  'service create': { module: 'service-create', summary: 'Create a service' },
  'service ls': { module: 'service-ls', summary: 'List services' },
  'service ps': { module: 'service-ps', summary: 'List the tasks of one or more services' },
  'service inspect': { module: 'service-inspect', summary: 'Display a service spec as JSON' },
  'service update': { module: 'service-update', summary: 'Update a service (rolling update when command, env or ports change)' },
  'service scale': { module: 'service-scale', summary: 'Scale one or more replicated services (web=5 api=2)' },
  'service rollback': { module: 'service-rollback', summary: 'Revert a service to its previous spec' },
  'service logs': { module: 'service-logs', summary: 'Fetch the aggregated logs of a service' },
  'service rm': { module: 'service-rm', summary: 'Remove one or more services' },
  'node start': { module: 'node-start', summary: 'Run a node daemon (routing mesh, agent, scheduler with --manager)' },
  'node ls': { module: 'node-ls', summary: 'List nodes' },
  'node update': { module: 'node-update', summary: 'Set a node\'s availability (active, pause, drain)' },
  'node rm': { module: 'node-rm', summary: 'Remove a node that is down (or --force)' },
  init: { module: 'init', summary: 'Create a cluster in a new Redis registry (then add nodes with node start)' },
  up: { module: 'up', summary: 'Start a single-machine cluster' },
  down: { module: 'down', summary: 'Stop the cluster started by mesh up' },
  whoami: { module: 'whoami', summary: 'A tiny HTTP server answering its name (a task to curl)' }
}

const GROUPS = new Set(['service', 'node'])

export function help (group?: string): string {
  const lines = ['Usage: mesh COMMAND [FLAGS]', '', 'Commands:']
  for (const [words, c] of Object.entries(COMMANDS)) {
    if (group !== undefined && !words.startsWith(`${group} `)) continue
    lines.push(`  ${words.padEnd(18)} ${c.summary}`)
  }
  lines.push('', 'Global flags:', '  --redis URL    registry (default: MESH_REDIS_URL or redis://127.0.0.1:6379)',
    '  -h, --help     help for a command (mesh service create --help)')
  return lines.join('\n') + '\n'
}

function usage (message: string): MeshError {
  return new MeshError('MESH_ERR_USAGE', `${message} (see mesh --help)`)
}

/** Resolves argv to a command and the arguments left for it. */
export function resolve (input: string[]): { words: string, rest: string[] } | { help: string } {
  // Global flags may come before the command (`mesh --redis URL service ls`): hand them to the command.
  const globals: string[] = []
  let argv = input
  while (argv[0]?.startsWith('--redis') === true) {
    if (argv[0] === '--redis') {
      if (argv[1] === undefined) throw usage('flag --redis needs a value')
      globals.push(argv[0], argv[1])
      argv = argv.slice(2)
    } else if (argv[0].startsWith('--redis=')) {
      globals.push(argv[0])
      argv = argv.slice(1)
    } else break
  }
  const found = route(argv)
  return 'rest' in found ? { words: found.words, rest: [...globals, ...found.rest] } : found
}

function route (argv: string[]): { words: string, rest: string[] } | { help: string } {
  const [first, second] = argv
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') return { help: help() }
  if (GROUPS.has(first)) {
    if (second === undefined || second === '--help' || second === '-h') return { help: help(first) }
    const words = `${first} ${second}`
    if (COMMANDS[words] === undefined) throw usage(`unknown command "mesh ${words}"`)
    return { words, rest: argv.slice(2) }
  }
  if (COMMANDS[first] === undefined) throw usage(`unknown command "${first}"`)
  return { words: first, rest: argv.slice(1) }
}

export async function main (argv: string[]): Promise<number> {
  try {
    const found = resolve(argv)
    if ('help' in found) {
      process.stdout.write(found.help)
      return 0
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(`./commands/${COMMANDS[found.words].module}`) as { run: Run }
    return await mod.run(found.rest)
  } catch (err) {
    if (isMeshError(err)) {
      process.stderr.write(`mesh: error: ${err.message}\n`)
      return err.code === 'MESH_ERR_USAGE' ? 2 : 1
    }
    const e = err as NodeJS.ErrnoException
    if (e?.code === 'MODULE_NOT_FOUND' && typeof e.message === 'string' && e.message.includes('/commands/')) {
      process.stderr.write(`mesh: error: command "${argv.slice(0, 2).join(' ')}" is not built into this copy of mesh\n`)
      return 1
    }
    process.stderr.write(`mesh: error: ${e instanceof Error ? e.message : String(e)}\n`)
    debug('%s', e instanceof Error ? e.stack : '')
    return 1
  }
}

/**
 * A password on the command line (`--redis redis://:pw@...`) is readable by
 * every user through ps: rewrite this process's title without it (Linux
 * shows the rewritten argv from then on). Only an environment variable or a
 * 0600 file keeps it from ps from the first moment.
 */
export function hideArgvSecrets (): void {
  const line = [process.argv0, ...process.argv.slice(1)].join(' ')
  if (hasSecret(line)) process.title = redactUrl(line)
}

if (require.main === module) {
  hideArgvSecrets()
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code
    // A command that returned is done: do not let a lingering handle keep the process alive.
    setTimeout(() => process.exit(code), 100).unref()
  }, (err) => {
    process.stderr.write(`mesh: error: ${String(err)}\n`)
    process.exitCode = 1
  })
}
