/**
 * The README's set-up puts `mesh` on PATH with `npm link`: afterwards the
 * lab's commands run as printed, from any directory, without npx. (npm's
 * global prefix is a temporary one here, so the machine's is untouched.)
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { TestRedis } from '../helpers/redis'

const ROOT = join(__dirname, '..', '..', '..')

t.test('npm link: mesh on PATH runs from anywhere', async (t) => {
  const prefix = mkdtempSync(join(tmpdir(), 'mesh-prefix-'))
  const elsewhere = mkdtempSync(join(tmpdir(), 'mesh-cwd-'))
  t.teardown(() => { rmSync(prefix, { recursive: true, force: true }); rmSync(elsewhere, { recursive: true, force: true }) })
  const lock = readFileSync(join(ROOT, 'package-lock.json'), 'utf8')
  const env = { ...process.env, NODE_OPTIONS: '', npm_config_prefix: prefix, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' }
  execFileSync('npm', ['link'], { cwd: ROOT, env, stdio: 'pipe' })
  t.equal(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'), lock, 'the checkout is not changed by npm link')

  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  const pathEnv = { ...env, PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}`, MESH_REDIS_URL: r.url }
  const which = execFileSync('sh', ['-c', 'command -v mesh'], { cwd: elsewhere, env: pathEnv, encoding: 'utf8' }).trim()
  t.equal(which, join(prefix, 'bin', 'mesh'), 'mesh is found on PATH')
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  t.equal(execFileSync('mesh', ['--version'], { cwd: elsewhere, env: pathEnv, encoding: 'utf8' }), `mesh version ${pkg.version}\n`)
  // A lab command as printed in the README, from another directory.
  const id = execFileSync('mesh', ['service', 'create', '--name', 'nginx1', '--publish', '8081:80', '-d', '--', 'mesh', 'whoami', '--version-tag', '1.12'], { cwd: elsewhere, env: pathEnv, encoding: 'utf8' })
  t.match(id, /^[0-9a-z]{25}\n$/)
  t.match(execFileSync('mesh', ['service', 'ls'], { cwd: elsewhere, env: pathEnv, encoding: 'utf8' }), /nginx1 +replicated +0\/1 +mesh whoami --version-tag 1\.12 +\*:8081->80\/tcp +L7\n/)
})
