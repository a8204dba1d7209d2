/** `mesh completion bash|zsh`: prints the completion script for the shell (see completion.ts). */
import { BASH_SCRIPT, ZSH_SCRIPT } from '../completion'
import { enumValue, parseFlags, type CommandSpec } from '../flags'

export const SPEC: CommandSpec = {
  name: 'completion',
  usage: 'bash|zsh',
  description: 'Print the completion script for bash or zsh. Load it in the running shell with\n' +
    '  source <(mesh completion bash)        (zsh: source <(mesh completion zsh), after compinit)\n' +
    'or install it: mesh completion bash > ~/.local/share/bash-completion/completions/mesh',
  options: {},
  positionals: { min: 1, max: 1, what: 'shell (bash or zsh)' }
}

export async function run (argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, SPEC)
  if (parsed === null) return 0
  const shell = enumValue(parsed.positionals[0], 'shell', ['bash', 'zsh'] as const)
  process.stdout.write(shell === 'bash' ? BASH_SCRIPT : ZSH_SCRIPT)
  return 0
}
