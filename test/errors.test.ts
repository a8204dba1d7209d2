import t from 'tap'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ERROR_CODES } from '../lib/errors'

const root = join(__dirname, '..', '..')

t.test('error codes are unique, well-formed and listed in README.md', async (t) => {
  const codes = Object.keys(ERROR_CODES)
  t.equal(new Set(codes).size, codes.length, 'unique')
  for (const c of codes) t.match(c, /^MESH_ERR_[A-Z_]+$/, `${c} is well-formed`)
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  for (const c of codes) t.ok(readme.includes(c), `${c} is documented in README.md`)
})

t.test('every MESH_ERR_ code used in lib/ is declared', async (t) => {
  const used = new Set<string>()
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f)
      if (statSync(p).isDirectory()) walk(p)
      else if (p.endsWith('.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/MESH_ERR_[A-Z_]+/g)) used.add(m[0])
    }
  }
  walk(join(root, 'lib'))
  for (const c of used) t.ok(c in ERROR_CODES, `${c} is declared in lib/errors.ts`)
})
