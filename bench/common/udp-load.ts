/**
 * UDP load: N client flows (one socket each, on its own source port) send
 * datagrams to one target at a fixed total rate for a fixed time, and count
 * the echoes that come back. Runs in its own process (pinned like the other
 * load tools) and prints one `UDPJSON {...}` line; `runUdpLoad` starts it and
 * reads that line.
 *
 *   node dist/bench/common/udp-load.js --target 127.0.0.90:5353 --flows 64 --rate 20000 --seconds 5 [--size 64] [--bind 127.0.0.99] [--drain 1000]
 *
 * Each datagram carries its flow's index, a sequence number, its send time
 * (process.hrtime) and the run's random id, padded to --size bytes. An echo
 * counts when it comes back on the socket that sent it, from the target's
 * address and port, with that socket's flow index in it; anything else is
 * counted as misdelivered, except an echo with another run's id (a late
 * echo to an earlier run whose flow had the same source port): stale.
 * After the last send the flows wait up to --drain ms for outstanding echoes
 * (less once every echo is in); what is still missing then is lost.
 * The pace is kept by a 1 ms timer: each tick sends what the rate owes since
 * the start (at most one second's worth), spread round robin over the flows.
 */
import { randomBytes } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import path from 'node:path'
import { hostPort, parseArgs } from './args'
import { run } from './procs'

export interface UdpLoadOptions {
  target: string
  flows: number
  /** Datagrams per second over all flows. */
  rate: number
  seconds: number
  size?: number
  /** Source address of the flows (loopback). */
  bind?: string
  drainMs?: number
  cpu?: string
}

export interface UdpLoadResult {
  sent: number
  received: number
  lost: number
  misdelivered: number
  /** Echoes of an earlier run (another process that had the same source port) arriving late: ignored. */
  stale: number
  /** Seconds from the first send to the last. */
  seconds: number
  /** Echoes per second over the sending time. */
  rate: number
  /** Round-trip microseconds of the echoes. */
  p50: number
  p99: number
  max: number
}

/** Runs the load in a child process (pinned to cpu when given); resolves with its summary. */
export async function runUdpLoad (o: UdpLoadOptions): Promise<UdpLoadResult> {
  const argv = [path.join(__dirname, 'udp-load.js'), '--target', o.target, '--flows', String(o.flows), '--rate', String(o.rate),
    '--seconds', String(o.seconds), '--size', String(o.size ?? 64), '--bind', o.bind ?? '127.0.0.1', '--drain', String(o.drainMs ?? 1000)]
  const out = await run(process.execPath, argv, { cpu: o.cpu, timeoutMs: (o.seconds + 20) * 1000 })
  const line = out.split('\n').find((l) => l.startsWith('UDPJSON '))
  if (line === undefined) throw new Error(`udp-load printed no summary:\n${out}`)
  return JSON.parse(line.slice(8)) as UdpLoadResult
}

function percentile (sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

async function main (): Promise<void> {
  const args = parseArgs()
  const target = hostPort(args.get('target', ''), 'target')
  const flows = Math.floor(args.num('flows', 64))
  const rate = args.num('rate', 20_000)
  const seconds = args.num('seconds', 5)
  const size = Math.floor(args.num('size', 64))
  const bind = args.get('bind', '127.0.0.1')
  const drainMs = args.num('drain', 1000)
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bind)) throw new Error(`--bind "${bind}": only loopback addresses (127.0.0.0/8)`)
  if (flows < 1 || flows > 10_000) throw new Error(`--flows must be 1-10000, got ${flows}`)
  if (!(rate > 0) || rate > 1_000_000) throw new Error(`--rate must be in (0, 1000000], got ${rate}`)
  if (!(seconds > 0) || seconds > 600) throw new Error(`--seconds must be in (0, 600], got ${seconds}`)
  if (size < 20 || size > 8192) throw new Error(`--size must be 20-8192 bytes, got ${size}`)

  const capacity = Math.ceil(rate * seconds) + rate
  const rtts = new Float64Array(capacity)
  let received = 0
  let misdelivered = 0
  let stale = 0
  const runId = randomBytes(4).readUInt32LE(0)
  let sent = 0
  const sockets: Socket[] = []
  for (let i = 0; i < flows; i++) {
    const s = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 })
    s.on('message', (msg, from) => {
      if (msg.length >= 20 && msg.readUInt32LE(16) !== runId) {
        stale++
        return
      }
      if (from.port !== target.port || from.address !== target.host || msg.length < 20 || msg.readUInt32LE(0) !== i) {
        misdelivered++
        return
      }
      const rtt = Number(process.hrtime.bigint() - msg.readBigUInt64LE(8)) / 1000
      if (received < capacity) rtts[received] = rtt
      received++
    })
    s.on('error', (err) => { process.stderr.write(`flow ${i}: ${err.message}\n`) })
    await new Promise<void>((resolve) => s.bind(0, bind, resolve))
    sockets.push(s)
  }
  // One payload per flow, rewritten before each send (the kernel copies it in send()).
  const payloads = sockets.map((_, i) => { const b = Buffer.alloc(size); b.writeUInt32LE(i, 0); b.writeUInt32LE(runId, 16); return b })

  const t0 = process.hrtime.bigint()
  const durNs = BigInt(Math.round(seconds * 1e9))
  let flow = 0
  let lastSend = t0
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = process.hrtime.bigint()
      const elapsed = now - t0
      const due = Math.min(Math.floor(rate * Number(elapsed >= durNs ? durNs : elapsed) / 1e9), sent + rate)
      while (sent < due) {
        const b = payloads[flow]
        b.writeUInt32LE(sent, 4)
        b.writeBigUInt64LE(process.hrtime.bigint(), 8)
        sockets[flow].send(b, target.port, target.host)
        sent++
        flow = flow + 1 === flows ? 0 : flow + 1
      }
      lastSend = now
      if (elapsed >= durNs) { resolve(); return }
      setTimeout(tick, 1)
    }
    tick()
  })
  const drainUntil = Date.now() + drainMs
  while (received + misdelivered < sent && Date.now() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 10))
  for (const s of sockets) s.close()
  const span = Number(lastSend - t0) / 1e9
  const sorted = rtts.slice(0, Math.min(received, capacity)).sort()
  const result: UdpLoadResult = {
    sent,
    received,
    lost: Math.max(0, sent - received - misdelivered),
    misdelivered,
    stale,
    seconds: span,
    rate: span > 0 ? received / span : 0,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.length > 0 ? sorted[sorted.length - 1] : NaN
  }
  process.stdout.write(`UDPJSON ${JSON.stringify(result)}\n`)
}

if (require.main === module) {
  main().then(() => process.exit(0), (err: Error) => {
    process.stderr.write(`udp-load: ${err.message}\n`)
    process.exit(2)
  })
}
