/**
 * Shell completion as a user gets it: the script `mesh completion bash`
 * prints, sourced into a real bash, completing commands, flags, flag values
 * and service names (from the registry) for `mesh` found on PATH.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { TestRedis } from '../helpers/redis'
import { MAIN, mesh } from './mesh'

function hasShell (name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

t.test('bash: commands, flags, values and service names', async (t) => {
  const r = await TestRedis.start()
  t.teardown(async () => { await r.close() })
  for (const name of ['web', 'api']) {
    const res = await mesh(r.url, ['service', 'create', '--name', name, '--endpoint', '127.0.0.1:1'])
    t.equal(res.code, 0, res.stderr)
  }
  const bin = mkdtempSync(join(tmpdir(), 'mesh-bin-'))
  t.teardown(() => { rmSync(bin, { recursive: true, force: true }) })
  symlinkSync(MAIN, join(bin, 'mesh'))
  const env = { ...process.env, NODE_OPTIONS: '', PATH: `${bin}:${process.env.PATH ?? ''}`, MESH_REDIS_URL: r.url }
  const script = execFileSync(join(bin, 'mesh'), ['completion', 'bash'], { env, encoding: 'utf8' })
  t.match(script, /^# bash completion for mesh/)

  /** What bash offers for the line typed so far (words; the last one being completed). */
  const complete = (...words: string[]): string[] => {
    const line = ['mesh', ...words].join(' ')
    const program = [
      'source <(mesh completion bash)',
      `COMP_WORDS=(mesh ${words.map((w) => `'${w}'`).join(' ')})`,
      `COMP_CWORD=${words.length}`,
      `COMP_LINE='${line}'`,
      'COMP_POINT=${#COMP_LINE}',
      'complete -p mesh >/dev/null || exit 3',
      '_mesh_complete',
      'printf "%s\\n" "${COMPREPLY[@]}"'
    ].join('\n')
    return execFileSync('bash', ['--norc', '--noprofile', '-c', program], { env, encoding: 'utf8' }).split('\n').filter((l) => l !== '')
  }
  t.same(complete('ser'), ['service'])
  t.same(complete('service', 'cr'), ['create'])
  t.same(complete('service', 'create', '--update-o'), ['--update-order'])
  t.same(complete('service', 'create', '--update-order', ''), ['stop-first', 'start-first'])
  t.same(complete('service', 'create', '--mode', 'g'), ['global'])
  t.same(complete('service', 'rm', ''), ['api', 'web'], 'service names from the registry')
  t.same(complete('service', 'update', 'web', ''), [], 'one service already given')
  t.same(complete('service', 'scale', 'w'), ['web='])
  t.same(complete('node', 'update', '--availability', 'd'), ['drain'])
  t.same(complete('completion', ''), ['bash', 'zsh'])
  t.same(complete('help', 'service', 'l'), ['ls', 'logs'])
  t.same(complete('service', 'create', '--name', 'x', '--', 'mesh', 'wh'), [], 'the task command: the shell\'s own completion')
  t.ok(complete('service', 'ls', '--').includes('--format'), 'a listing completes --format')
  t.same(complete('service', 'ls', '--redis', 'redis://127.0.0.1:1', '-'), complete('service', 'ls', '-'))
})

t.test('zsh: candidates with descriptions, and the script loads', async (t) => {
  const list = execFileSync(process.execPath, [MAIN, '__complete', 'zsh', 'service', 'cr'], { env: { ...process.env, NODE_OPTIONS: '' }, encoding: 'utf8' })
  t.equal(list, 'create:Create a service\n')
  const script = execFileSync(process.execPath, [MAIN, 'completion', 'zsh'], { env: { ...process.env, NODE_OPTIONS: '' }, encoding: 'utf8' })
  t.match(script, /^#compdef mesh\n/)
  if (!hasShell('zsh')) {
    t.comment('zsh is not installed here: the script was not loaded into a real zsh')
    return
  }
  const out = execFileSync('zsh', ['-f', '-c', `autoload -Uz compinit && compinit -u -D && source <(${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} completion zsh) && print -r -- $_comps[mesh]`],
    { env: { ...process.env, NODE_OPTIONS: '' }, encoding: 'utf8' })
  t.equal(out.trim(), '_mesh', 'sourced after compinit, it registers _mesh for mesh')
})
