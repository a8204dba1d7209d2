/** `mesh help [COMMAND]`: the same text as `mesh COMMAND --help`. */
import { COMMANDS, GROUPS } from '../command-table'
import { flagsOf, parseFlags, usageError, type CommandSpec } from '../flags'
import { describeCommand, describeCommands } from '../help'
import { loadCommand } from '../main'

export const SPEC: CommandSpec = {
  name: 'help',
  usage: '[COMMAND]',
  options: {},
  positionals: { min: 0, max: 2, what: 'command' }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const words = parsed.positionals.join(' ')
  if (words === '') {
    process.stdout.write(describeCommands())
    return 0
  }
  if (GROUPS[words] !== undefined) {
    process.stdout.write(describeCommands(words))
    return 0
  }
  if (COMMANDS[words] === undefined || COMMANDS[words].hidden === true) throw usageError(SPEC, `unknown command "mesh ${words}"`)
  const mod = loadCommand(words)
  if (mod.SPEC === undefined) return await mod.run(['--help'])
  process.stdout.write(describeCommand(mod.SPEC, flagsOf(mod.SPEC)))
  return 0
}
