/**
 * Shell completion. The bash and zsh scripts (`mesh completion bash|zsh`)
 * are thin: they hand the words typed so far to `mesh __complete SHELL
 * WORD...` and show what it prints. The candidates come from the same
 * tables the parser and --help use (command-table.ts, each command's flag
 * SPEC), plus service and node names read from the registry when a command
 * takes one (skipped quietly when the registry does not answer quickly).
 */
import { localConfig } from '../cluster/cluster-file'
import { COMMANDS, GROUPS, commandsIn } from './command-table'
import { flagsOf, type CommandSpec, type Options } from './flags'
import { documented } from './help'
import { withSession } from './registry-session'

export interface Candidate { value: string, description: string }

type Loader = (words: string) => { SPEC?: CommandSpec }

/** Names from the registry for a positional that wants them. */
type Names = (kind: 'service' | 'node' | 'cert', redis: string | undefined) => Promise<string[]>

/** Service, node or certificate names from the registry the command would use; [] when it does not answer within 1 s. */
export const registryNames: Names = async (kind, redis) => {
  try {
    const config = localConfig(process.cwd(), { overrides: { ...(redis !== undefined ? { 'redis.url': redis } : {}), 'redis.connectTimeout': '1s' } })
    const snap = await withSession(config, async (s) => await s.store.snapshot())
    if (kind === 'cert') return [...snap.parts.certs.keys()].sort()
    return kind === 'service' ? [...snap.services.keys()].sort() : [...snap.nodes.values()].map((n) => n.name).sort()
  } catch {
    return []
  }
}

function flagCandidates (options: Options): Candidate[] {
  return Object.entries(options).map(([name, o]) => ({ value: `--${name}`, description: documented(name, o).description ?? '' }))
}

/** The flag that `word` names when it expects a value (`--mode`, `-p`), else null. */
function valueFlag (word: string, options: Options): [string, Options[string]] | null {
  if (word.startsWith('--') && !word.includes('=')) {
    const o = options[word.slice(2)]
    return o?.type === 'string' ? [word.slice(2), o] : null
  }
  if (/^-[a-zA-Z]$/.test(word)) {
    const found = Object.entries(options).find(([, o]) => o.short === word[1])
    return found !== undefined && found[1].type === 'string' ? found : null
  }
  return null
}

/**
 * Candidates for the last of `words` (the words after `mesh`, the last one
 * being typed, possibly empty), filtered by what is typed.
 */
export async function candidates (words: string[], load: Loader, names: Names = registryNames): Promise<Candidate[]> {
  const typed = words.slice(0, -1)
  const current = words[words.length - 1] ?? ''
  // Global --redis before the command.
  let redis: string | undefined
  while (typed[0] === '--redis' && typed.length >= 2) { redis = typed[1]; typed.splice(0, 2) }
  if (typed[typed.length - 1] === '--redis') return []
  const filter = (list: Candidate[]): Candidate[] => list.filter((c) => c.value.startsWith(current))
  if (typed.length === 0) {
    if (current.startsWith('-')) return filter([{ value: '--help', description: 'Print usage' }, { value: '--version', description: 'Print the version' }, { value: '--redis', description: 'Registry to use' }])
    return filter([
      ...Object.entries(GROUPS).map(([g, d]) => ({ value: g, description: d })),
      ...commandsIn().filter(([w]) => !w.includes(' ')).map(([w, c]) => ({ value: w, description: c.summary }))
    ])
  }
  let words2: string
  let rest: string[]
  if (GROUPS[typed[0]] !== undefined) {
    if (typed.length === 1) {
      return filter(commandsIn(typed[0]).map(([w, c]) => ({ value: w.slice(typed[0].length + 1), description: c.summary })))
    }
    words2 = `${typed[0]} ${typed[1]}`
    rest = typed.slice(2)
  } else {
    words2 = typed[0]
    rest = typed.slice(1)
  }
  if (COMMANDS[words2] === undefined || COMMANDS[words2].hidden === true) return []
  if (words2 === 'help') {
    const all = [...Object.keys(GROUPS), ...commandsIn().map(([w]) => w)]
    const prefix = rest.join(' ')
    const next = new Set(all.filter((w) => w.startsWith(prefix === '' ? '' : `${prefix} `)).map((w) => w.split(' ')[rest.length]).filter((w) => w !== undefined))
    return filter([...next].map((w) => ({ value: w, description: COMMANDS[[...rest, w].join(' ')]?.summary ?? GROUPS[w] ?? '' })))
  }
  if (words2 === 'completion') return rest.length === 0 ? filter([{ value: 'bash', description: 'bash completion' }, { value: 'zsh', description: 'zsh completion' }]) : []
  let spec: CommandSpec | undefined
  try {
    spec = load(words2).SPEC
  } catch {
    return []
  }
  if (spec === undefined) return current.startsWith('-') ? filter([{ value: '--help', description: 'Print usage' }]) : []
  // After `--` everything is the task's command: the shell's own completion.
  if (spec.rest === true && rest.includes('--')) return []
  const options = flagsOf(spec)
  const i = rest.lastIndexOf('--redis')
  if (i >= 0 && rest[i + 1] !== undefined) redis = rest[i + 1]
  const prev = rest[rest.length - 1]
  const wanting = prev !== undefined ? valueFlag(prev, options) : null
  if (wanting !== null) {
    const o = documented(wanting[0], wanting[1])
    return filter((o.choices ?? []).map((v) => ({ value: v, description: '' })))
  }
  if (current.startsWith('-')) return filter(flagCandidates(options))
  const what = spec.positionals.what
  let given = 0
  rest.forEach((w, j) => { if (!w.startsWith('-') && (j === 0 || valueFlag(rest[j - 1], options) === null)) given++ })
  if (given >= spec.positionals.max) return []
  if (/SERVICE=REPLICAS/.test(what)) return filter((await names('service', redis)).map((n) => ({ value: `${n}=`, description: 'service' })))
  if (/service/.test(what)) return filter((await names('service', redis)).map((n) => ({ value: n, description: 'service' })))
  if (/node/.test(what)) return filter((await names('node', redis)).map((n) => ({ value: n, description: 'node' })))
  if (/certificate/.test(what) && words2 !== 'cert create') return filter((await names('cert', redis)).map((n) => ({ value: n, description: 'certificate' })))
  return []
}

/** What `mesh __complete bash|zsh` prints: bash one value a line; zsh `value:description`, colons escaped. */
export function formatCandidates (shell: 'bash' | 'zsh', list: Candidate[]): string {
  if (shell === 'bash') return list.map((c) => `${c.value}\n`).join('')
  return list.map((c) => `${c.value.replaceAll(':', '\\:')}${c.description !== '' ? `:${c.description.replaceAll('\n', ' ')}` : ''}\n`).join('')
}

export const BASH_SCRIPT = `# bash completion for mesh. Load it with
#   source <(mesh completion bash)
# or install it: mesh completion bash > ~/.local/share/bash-completion/completions/mesh
_mesh_complete() {
  local cur words cword
  if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
    _get_comp_words_by_ref -n =: cur words cword
  else
    cur="\${COMP_WORDS[COMP_CWORD]}"
    words=("\${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  fi
  local IFS=$'\\n'
  COMPREPLY=($(command mesh __complete bash "\${words[@]:1:cword}" 2>/dev/null))
  if [[ \${#COMPREPLY[@]} -eq 1 && "\${COMPREPLY[0]}" == *= ]]; then
    compopt -o nospace 2>/dev/null
  fi
  if declare -F __ltrim_colon_completions >/dev/null 2>&1; then
    __ltrim_colon_completions "$cur"
  fi
}
complete -o default -F _mesh_complete mesh
`

export const ZSH_SCRIPT = `#compdef mesh
# zsh completion for mesh. Load it (after compinit) with
#   source <(mesh completion zsh)
# or install it as _mesh in a directory of $fpath: mesh completion zsh > "\${fpath[1]}/_mesh"
_mesh() {
  local -a candidates
  local line
  for line in "\${(@f)$(command mesh __complete zsh "\${(@)words[2,CURRENT]}" 2>/dev/null)}"; do
    [[ -n $line ]] && candidates+=("$line")
  done
  if (( \${#candidates} == 0 )); then
    _files
    return
  fi
  _describe -t mesh 'mesh' candidates
}
if [[ "\${funcstack[1]}" == _mesh ]]; then
  _mesh "$@"
else
  compdef _mesh mesh
fi
`
