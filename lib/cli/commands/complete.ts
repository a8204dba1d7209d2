/**
 * `mesh __complete bash|zsh WORD...` (hidden): the completion candidates for
 * the last WORD, one a line, for the scripts `mesh completion` prints.
 * Never fails: a shell asking for candidates gets none rather than an error.
 */
import { debuglog } from 'node:util'
import { candidates, formatCandidates } from '../completion'
import { loadCommand } from '../main'

const debug = debuglog('mesh:cli')

export async function run (argv: string[]): Promise<number> {
  const [shell, ...words] = argv
  if (shell !== 'bash' && shell !== 'zsh') return 0
  try {
    process.stdout.write(formatCandidates(shell, await candidates(words.length === 0 ? [''] : words, loadCommand)))
  } catch (err) {
    // No candidates: the shell falls back to its own completion.
    debug('completion failed: %s', (err as Error).message)
  }
  return 0
}
