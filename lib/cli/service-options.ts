/** Flags shared by `service create` and `service update` (docker's names and wording where docker has them). */
import { BACKENDS, PROXY_PROTOCOL_VALUES } from '../service/route-options'
import { FAILURE_ACTIONS, ORDERS, RESTART_CONDITIONS } from '../service/spec'
import type { Options, Values } from './flags'
import { durationValue } from './flags'

export const SPEC_OPTIONS: Options = {
  'health-path': { type: 'string', value: 'PATH', description: 'Check each task with an HTTP GET of PATH (2xx/3xx passes)' },
  'health-tcp': { type: 'boolean', description: 'Check each task by connecting to its port' },
  'health-interval': { type: 'string', value: 'DURATION', description: 'Time between health checks', default: '5s, config health.interval' },
  'health-timeout': { type: 'string', value: 'DURATION', description: 'Maximum time a check may take', default: '2s, config health.timeout' },
  'health-rise': { type: 'string', value: 'N', description: 'Consecutive passing checks to become healthy', default: '2' },
  'health-fall': { type: 'string', value: 'N', description: 'Consecutive failing checks to become unhealthy', default: '3' },
  'update-parallelism': { type: 'string', value: 'N', description: 'Maximum number of tasks updated simultaneously (0 to update all at once)', default: '1' },
  'update-delay': { type: 'string', value: 'DURATION', description: 'Delay between updates', default: '0s' },
  'update-order': { type: 'string', value: 'ORDER', description: 'Update order ("start-first", "stop-first")', default: 'stop-first', choices: ORDERS },
  'update-failure-action': { type: 'string', value: 'ACTION', description: 'Action on update failure ("pause", "continue", "rollback")', default: 'pause', choices: FAILURE_ACTIONS },
  'update-monitor': { type: 'string', value: 'DURATION', description: 'Duration after each task update to monitor for failure', default: '5s' },
  'restart-condition': { type: 'string', value: 'CONDITION', description: 'Restart when condition is met ("none", "on-failure", "any")', default: 'any', choices: RESTART_CONDITIONS },
  'restart-delay': { type: 'string', value: 'DURATION', description: 'Delay between restart attempts (doubling per attempt)', default: '1s, config tasks.restartDelay' },
  'restart-max-attempts': { type: 'string', value: 'N', description: 'Maximum number of restarts before giving up (0: no limit)', default: '0' },
  'stop-grace-period': { type: 'string', value: 'DURATION', description: 'Time to wait after SIGTERM before killing a task', default: '10s, config tasks.stopGrace' },
  // Route options (spec.options): how the nodes route to the service; changing them restarts no task.
  cert: { type: 'string', value: 'NAME', description: 'Certificate (mesh cert create) its https ports present when the SNI names no other; needs an https port ("" on update: none)' },
  'redirect-https': { type: 'boolean', description: 'Answer plain-HTTP requests on its http ports with 308 to https:// (the same host and path, port 443)' },
  backend: { type: 'string', value: 'PROTO', description: 'How requests reach the endpoints: http1, h2c (HTTP/2 in clear, e.g. gRPC) or h2 (HTTP/2 over TLS); needs an http or https port', default: 'http1', choices: BACKENDS },
  'proxy-protocol': { type: 'string', value: 'VERSION', description: 'Send a PROXY protocol header (1 or v1: text, 2 or v2: binary) with the client\'s address first on each connection to the endpoints; needs a tcp or tls port (0: off)', default: '0', choices: PROXY_PROTOCOL_VALUES }
}

export const WAIT_OPTIONS: Options = {
  detach: { type: 'boolean', short: 'd', description: 'Exit immediately instead of waiting for the service to converge' },
  quiet: { type: 'boolean', short: 'q', description: 'Suppress progress output (still waits, and exits non-zero when it does not converge)' },
  timeout: { type: 'string', value: 'DURATION', description: 'How long to show the converge progress before giving up', default: '60s' }
}

export const DEFAULT_TIMEOUT = 60_000

/** How to wait for convergence: --timeout (how long), --quiet (without the progress display). */
export interface Wait { timeout: number, quiet: boolean }

export function waitOf (values: Values): Wait {
  const t = values.timeout
  return { timeout: typeof t === 'string' ? durationValue(t, '--timeout') : DEFAULT_TIMEOUT, quiet: values.quiet === true }
}
