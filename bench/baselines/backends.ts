/** Shared by the baseline proxies: parse `--listen` and the repeatable `--backend`. */
import { hostPort, parseArgs, type HostPort } from '../common/args'

export function baselineArgs (name: string): { listen: HostPort, backends: HostPort[] } {
  const args = parseArgs()
  const backends = args.all('backend').map((b) => hostPort(b, 'backend'))
  if (!args.has('listen') || backends.length === 0) {
    process.stderr.write(`usage: ${name} --listen host:port --backend host:port [--backend host:port ...]\n`)
    process.exit(2)
  }
  return { listen: hostPort(args.get('listen', ''), 'listen'), backends }
}
