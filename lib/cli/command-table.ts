/**
 * Every `mesh` command: its words, the module under ./commands that runs it
 * (required only when used) and the one-line summary `mesh --help` lists.
 * Help, completion and the router all read this one table.
 */

export interface CommandEntry { module: string, summary: string, hidden?: boolean }

export const COMMANDS: Record<string, CommandEntry> = {
  'service create': { module: 'service-create', summary: 'Create a service' },
  'service ls': { module: 'service-ls', summary: 'List services' },
  'service ps': { module: 'service-ps', summary: 'List the tasks of one or more services' },
  'service inspect': { module: 'service-inspect', summary: 'Display detailed information on one or more services' },
  'service update': { module: 'service-update', summary: 'Update a service (rolling update when command, env or ports change)' },
  'service scale': { module: 'service-scale', summary: 'Scale one or more replicated services (web=5 api=2)' },
  'service rollback': { module: 'service-rollback', summary: 'Revert a service to its previous spec' },
  'service logs': { module: 'service-logs', summary: 'Fetch the aggregated logs of a service' },
  'service rm': { module: 'service-rm', summary: 'Remove one or more services' },
  'node start': { module: 'node-start', summary: 'Run a node daemon (routing mesh, agent, scheduler with --manager)' },
  'node ls': { module: 'node-ls', summary: 'List nodes' },
  'node update': { module: 'node-update', summary: 'Set a node\'s availability (active, pause, drain)' },
  'node rm': { module: 'node-rm', summary: 'Remove a node that is down (or --force)' },
  'node promote': { module: 'node-promote', summary: 'Promote one or more nodes to manager in the cluster' },
  'node demote': { module: 'node-demote', summary: 'Demote one or more nodes from manager in the cluster' },
  'cert create': { module: 'cert-create', summary: 'Create a cluster certificate from PEM files (--cert FILE --key FILE)' },
  'cert ls': { module: 'cert-ls', summary: 'List certificates' },
  'cert inspect': { module: 'cert-inspect', summary: 'Display detailed information on one or more certificates (never the key)' },
  'cert update': { module: 'cert-update', summary: 'Replace a certificate (new handshakes get the new one)' },
  'cert rm': { module: 'cert-rm', summary: 'Remove one or more certificates' },
  init: { module: 'init', summary: 'Initialize a cluster: this node becomes its first manager (prints the join command)' },
  join: { module: 'join', summary: 'Join a cluster as a node, with the role its token grants' },
  'join-token': { module: 'join-token', summary: 'Manage join tokens (print or rotate)' },
  leave: { module: 'leave', summary: 'Leave the cluster (its tasks move to other nodes first)' },
  up: { module: 'up', summary: 'Start a single-machine cluster' },
  down: { module: 'down', summary: 'Stop the cluster started by mesh up' },
  whoami: { module: 'whoami', summary: 'A tiny HTTP server answering its name (a task to curl)' },
  completion: { module: 'completion', summary: 'Print a bash or zsh completion script (source <(mesh completion bash))' },
  help: { module: 'help', summary: 'Help about a command (mesh help service create)' },
  __complete: { module: 'complete', summary: 'Completion candidates for the shell scripts', hidden: true }
}

/** First words that only group commands (`mesh service ...`). */
export const GROUPS: Record<string, string> = {
  service: 'Manage services',
  node: 'Manage nodes',
  cert: 'Manage TLS certificates'
}

/** The commands of one group, or the top-level ones (group undefined), without hidden ones. */
export function commandsIn (group?: string): Array<[string, CommandEntry]> {
  return Object.entries(COMMANDS).filter(([words, c]) => c.hidden !== true &&
    (group === undefined ? true : words.startsWith(`${group} `)))
}
