import t from 'tap'
import { loadConfig } from '../../lib/config/load'
import { specFromCreateFlags } from '../../lib/service/spec'

const config = loadConfig({ env: {} })

t.test('defaults come from config and docker', async (t) => {
  const { spec, endpoints } = specFromCreateFlags({ name: 'web', publish: ['80:80'], 'health-path': '/healthz' }, ['mesh', 'whoami'], config)
  t.match(spec, {
    name: 'web', mode: 'replicated', replicas: 1, version: 1, previous: null, command: ['mesh', 'whoami'],
    health: { type: 'http', path: '/healthz', interval: config.health.interval, timeout: config.health.timeout, rise: config.health.rise, fall: config.health.fall },
    update: { parallelism: 1, delay: 0, order: 'stop-first', failureAction: 'pause', monitor: 5000 },
    restart: { condition: 'any' },
    stopGrace: config.tasks.stopGrace
  })
  t.match(spec.id, /^[0-9a-z]{25}$/)
  t.same(endpoints, [])
})

t.test('static endpoints without a command: replicas 0', async (t) => {
  const { spec, endpoints } = specFromCreateFlags({ name: 'st', endpoint: ['127.0.0.31:9001'], 'health-tcp': true, 'health-interval': '1s', 'health-fall': '5' }, null, config)
  t.equal(spec.replicas, 0)
  t.same(spec.command, [])
  t.match(spec.health, { type: 'tcp', path: '', interval: 1000, fall: 5 })
  t.same(endpoints, [{ host: '127.0.0.31', port: 9001 }])
})

t.test('flags that do not fit', async (t) => {
  t.throws(() => specFromCreateFlags({ name: 'x', replicas: '2' }, null, config), { code: 'MESH_ERR_COMMAND_MISSING' })
  t.throws(() => specFromCreateFlags({ name: 'x', mode: 'global' }, null, config), { code: 'MESH_ERR_COMMAND_MISSING' })
  t.throws(() => specFromCreateFlags({ name: 'x', 'health-path': '/a', 'health-tcp': true }, ['x'], config), { code: 'MESH_ERR_USAGE' })
  t.throws(() => specFromCreateFlags({ name: 'x', host: ['a.local'], publish: ['5432:5432/tcp'] }, ['x'], config), { code: 'MESH_ERR_USAGE' })
  t.throws(() => specFromCreateFlags({ name: 'x', 'stop-grace-period': '10' }, ['x'], config), { code: 'MESH_ERR_INVALID_DURATION' })
})
