/**
 * `mesh up | head -1`: the reader of mesh's output goes away before mesh is
 * done writing. mesh drops the rest of its output and finishes what it was
 * doing (the cluster is up, exit 0) instead of dying of EPIPE half-way.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { ClusterFile } from '../../lib/cluster/cluster-file'
import { isOurs } from '../../lib/cluster/local'
import { CLI, runMesh } from '../helpers/mesh'
import { freePort } from '../helpers/ports'

t.test('mesh up with its output closed: no EPIPE crash, the cluster is up', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'mesh-epipe-'))
  const basePort = await freePort('127.0.0.1')
  t.teardown(async () => {
    const path = join(cwd, '.mesh', 'cluster.json')
    if (existsSync(path)) {
      const file = JSON.parse(readFileSync(path, 'utf8')) as ClusterFile
      await runMesh(['down'], { cwd })
      for (const n of file.nodes) if (isOurs(n.pid, 'node start')) process.kill(n.pid, 'SIGKILL')
    }
    rmSync(cwd, { recursive: true, force: true })
  })
  const child = spawn(process.execPath, [CLI, 'up', '--nodes', '1', '--base-port', String(basePort), '--set', 'proxy.warmupRequests=0'],
    { cwd, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  // The reader is gone before mesh writes its first line (as head -1 is gone after its first).
  child.stdout.destroy()
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const code = await new Promise<number | null>((resolve) => { child.once('close', resolve) })
  t.equal(code, 0, `exit 0 (stderr: ${stderr})`)
  t.notMatch(stderr, /EPIPE|Unhandled 'error'/, 'no crash')
  const ls = await runMesh(['node', 'ls', '--format', '{{.Hostname}}'], { cwd })
  t.equal(ls.stdout, 'node1\n', 'the cluster it started answers')
})
