/** Flags shared by `service create` and `service update`. */
import type { Options, Values } from './flags'
import { durationValue } from './flags'

export const SPEC_OPTIONS: Options = {
  'health-path': { type: 'string' },
  'health-tcp': { type: 'boolean' },
  'health-interval': { type: 'string' },
  'health-timeout': { type: 'string' },
  'health-rise': { type: 'string' },
  'health-fall': { type: 'string' },
  'update-parallelism': { type: 'string' },
  'update-delay': { type: 'string' },
  'update-order': { type: 'string' },
  'update-failure-action': { type: 'string' },
  'update-monitor': { type: 'string' },
  'restart-condition': { type: 'string' },
  'restart-delay': { type: 'string' },
  'restart-max-attempts': { type: 'string' },
  'stop-grace-period': { type: 'string' }
}

export const WAIT_OPTIONS: Options = {
  detach: { type: 'boolean', short: 'd' },
  timeout: { type: 'string' }
}

export const DEFAULT_TIMEOUT = 60_000

/** --timeout (how long to show converge progress). */
export function timeoutOf (values: Values): number {
  const t = values.timeout
  return typeof t === 'string' ? durationValue(t, '--timeout') : DEFAULT_TIMEOUT
}
