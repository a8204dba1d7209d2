#!/usr/bin/env node
/**
 * `mesh`: the command-line entry. Finds the command in the command table
 * (command-table.ts), loads its module lazily and runs it; every command
 * module exports `run(argv): Promise<number>` (the exit code) and, for
 * help and completion, its flag `SPEC`.
 *
 * Errors: a MeshError prints one line `mesh: error: <message>`; the exit
 * code follows one table (exit-codes.ts: 0 ok, 1 failed, 2 usage). Output
 * whose reader went away (`mesh up | head -1`) is dropped, not a crash:
 * the command still finishes what it started.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { debuglog } from 'node:util'
import { MeshError, isMeshError } from '../errors'
import { hasSecret, redactUrl } from '../util/redact'
import { COMMANDS, GROUPS } from './command-table'
import { EXIT_FAILED, EXIT_USAGE, exitCodeOf } from './exit-codes'
import type { CommandSpec } from './flags'
import { describeCommands } from './help'
import { red } from './terminal'

const debug = debuglog('mesh:cli')

type Run = (argv: string[]) => Promise<number>

export { COMMANDS } from './command-table'

/** `mesh --help`, or a group's (`mesh service --help`). */
export function help (group?: string): string {
  return describeCommands(group)
}

function usage (message: string): MeshError {
  return new MeshError('MESH_ERR_USAGE', `${message} (see mesh --help)`)
}

/** The package version: the nearest package.json above this file (dist/lib/cli or lib/cli). */
export function version (): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string, version?: string }
      if (pkg.name === 'routemesh' && typeof pkg.version === 'string') return pkg.version
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    if (dirname(dir) === dir) return 'unknown'
  }
}

type Resolved = { words: string, rest: string[] } | { help: string } | { version: string }

/** Resolves argv to a command and the arguments left for it. */
export function resolve (input: string[]): Resolved {
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

function route (argv: string[]): Resolved {
  const [first, second] = argv
  if (first === undefined || first === '--help' || first === '-h') return { help: help() }
  if (first === '--version' || first === '-v') return { version: `mesh version ${version()}\n` }
  if (GROUPS[first] !== undefined) {
    if (second === undefined || second === '--help' || second === '-h') return { help: help(first) }
    const words = `${first} ${second}`
    if (COMMANDS[words] === undefined) throw usage(`unknown command "mesh ${words}"`)
    return { words, rest: argv.slice(2) }
  }
  if (COMMANDS[first] === undefined) throw usage(`unknown command "${first}"`)
  return { words: first, rest: argv.slice(1) }
}

/** A command's module (run and SPEC). */
export function loadCommand (words: string): { run: Run, SPEC?: CommandSpec } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(`./commands/${COMMANDS[words].module}`) as { run: Run, SPEC?: CommandSpec }
}

/** One error line, as every command prints it. */
export function printError (err: unknown, out: NodeJS.WritableStream = process.stderr): void {
  const message = err instanceof Error ? err.message : String(err)
  out.write(`${red(out)('mesh: error:')} ${message}\n`)
}

export async function main (argv: string[]): Promise<number> {
  try {
    const found = resolve(argv)
    if ('help' in found) {
      process.stdout.write(found.help)
      return 0
    }
    if ('version' in found) {
      process.stdout.write(found.version)
      return 0
    }
    return await loadCommand(found.words).run(found.rest)
  } catch (err) {
    if (isMeshError(err)) {
      printError(err)
      return exitCodeOf(err)
    }
    const e = err as NodeJS.ErrnoException
    // A command that parses its own flags with node:util parseArgs (node start): still a usage error.
    if (typeof e?.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS_')) {
      printError(`${e.message} (see mesh ${argv.slice(0, 2).join(' ')} --help)`)
      return EXIT_USAGE
    }
    if (e?.code === 'MODULE_NOT_FOUND' && typeof e.message === 'string' && e.message.includes('/commands/')) {
      printError(`command "${argv.slice(0, 2).join(' ')}" is not built into this copy of mesh`)
      return EXIT_FAILED
    }
    printError(e instanceof Error ? e.message : String(e))
    debug('%s', e instanceof Error ? e.stack : '')
    return EXIT_FAILED
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

/**
 * A reader that went away (`mesh up | head -1`, a closed terminal) makes
 * writes fail with EPIPE: drop the output from then on instead of dying
 * half-way through what the command was doing.
 */
export function tolerateClosedOutput (): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') {
        debug('output closed (%s): dropping what is written to it', err.code)
        return
      }
      throw err
    })
  }
}

if (require.main === module) {
  hideArgvSecrets()
  tolerateClosedOutput()
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code
    // A command that returned is done: do not let a lingering handle keep the process alive.
    setTimeout(() => process.exit(code), 100).unref()
  }, (err) => {
    printError(String(err))
    process.exitCode = EXIT_FAILED
  })
}
