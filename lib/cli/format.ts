/**
 * How the CLI prints registry values the way docker does: ages
 * ("8 seconds ago"), published ports ("*:8080->80/tcp" for http and tcp, as
 * docker prints them; "*:443->80/https", "*:8443->443/tls", "*:53->53/udp"
 * name the protocols docker does not have; whether the mesh routes a port at
 * L7 or L4 is the ROUTING column's and inspect's), task names ("nginx1.3"),
 * capitalised states.
 */
import type { PublishedPort, ServiceSpec, TaskRecord } from '../registry/types'

/** Docker's go-units HumanDuration. */
export function humanDuration (ms: number): string {
  const seconds = Math.floor(ms / 1000)
  if (seconds < 1) return 'Less than a second'
  if (seconds === 1) return '1 second'
  if (seconds < 60) return `${seconds} seconds`
  const minutes = Math.floor(ms / 60_000)
  if (minutes === 1) return 'About a minute'
  if (minutes < 60) return `${minutes} minutes`
  const hours = Math.round(ms / 3_600_000)
  if (hours === 1) return 'About an hour'
  if (hours < 48) return `${hours} hours`
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`
  return `${Math.floor(hours / 24 / 365)} years`
}

export function ago (at: number, now = Date.now()): string {
  return `${humanDuration(Math.max(0, now - at)).toLowerCase()} ago`
}

export function capitalise (text: string): string {
  return text === '' ? text : text[0].toUpperCase() + text.slice(1)
}

export function formatPort (p: PublishedPort): string {
  return `*:${p.published}->${p.target}/${p.protocol === 'http' ? 'tcp' : p.protocol}`
}

export function formatPorts (ports: PublishedPort[]): string {
  return ports.map(formatPort).join(', ')
}

/** How the mesh routes a port: L7 (HTTP per request: http, https) or L4 (per connection or UDP flow: tcp, tls, udp). */
export function routingOf (p: PublishedPort): string {
  return p.protocol === 'http' || p.protocol === 'https' ? 'L7' : 'L4'
}

/** `L7`; ports routed differently: one per port, in the order of PORTS (`L7, L4`). */
export function formatRouting (ports: PublishedPort[]): string {
  const each = ports.map(routingOf)
  return new Set(each).size <= 1 ? (each[0] ?? '') : each.join(', ')
}

/** `nginx1.3`, or `nginx1.<node id>` in global mode. */
export function taskName (spec: Pick<ServiceSpec, 'mode'> | undefined, task: TaskRecord): string {
  if (spec?.mode === 'global' && !task.static && task.node !== '') return `${task.service}.${task.node}`
  return `${task.service}.${task.slot}`
}

/** A command line as typed: arguments with spaces or quotes are quoted. */
export function formatCommand (command: string[]): string {
  return command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')
}

/** docker's formatter.Ellipsis: at most `max` characters, the last one `…` when cut. */
export function truncate (text: string, max: number): string {
  const chars = [...text]
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`
}
