import t from 'tap'
import { loadConfig } from '../../lib/config/load'
import { specFromCreateFlags } from '../../lib/service/spec'
import { applyOptions, DEFAULT_OPTIONS, optionFlags, optionsOf } from '../../lib/service/route-options'

const config = loadConfig({ env: {} })
const create = (v: Record<string, string | boolean | string[]>) => specFromCreateFlags({ name: 'x', endpoint: ['127.0.0.31:9001'], ...v }, null, config).spec

t.test('a new service has the default options unless flags say otherwise', async (t) => {
  t.same(create({ publish: ['80:80'] }).options, { backend: 'http1', cert: null, proxyProtocol: 0, redirectHttps: false })
  t.same(create({ publish: ['443:80/https', '80:80'], cert: 'site', 'redirect-https': true, backend: 'h2c' }).options,
    { backend: 'h2c', cert: 'site', proxyProtocol: 0, redirectHttps: true })
  for (const [text, v] of [['0', 0], ['off', 0], ['1', 1], ['v1', 1], ['2', 2], ['V2', 2]] as const) {
    t.equal(create({ publish: ['5432:5432/tcp'], 'proxy-protocol': text }).options?.proxyProtocol, v, text)
  }
  t.equal(create({ publish: ['8443:443/tls'], host: ['a.example'], 'proxy-protocol': 'v2' }).options?.proxyProtocol, 2, 'tls passthrough takes it')
  t.same(create({ publish: ['8443:443/tls'], host: ['a.example', '*.b.example'] }).hosts, ['a.example', '*.b.example'], '--host on a tls port: SNI names')
})

t.test('bad values and options that apply to none of the ports', async (t) => {
  const bad = (v: Record<string, string | boolean | string[]>, code: string, message: RegExp): void => {
    t.throws(() => create(v), { code, message }, JSON.stringify(v))
  }
  bad({ publish: ['80:80'], backend: 'h3' }, 'MESH_ERR_USAGE', /--backend: "h3" is not one of http1, h2c, h2/)
  bad({ publish: ['5432:5432/tcp'], 'proxy-protocol': 'v3' }, 'MESH_ERR_USAGE', /--proxy-protocol: "v3" is not one of 0 \(off\), 1 or v1, 2 or v2/)
  bad({ publish: ['443:80/https'], cert: 'bad name!' }, 'MESH_ERR_INVALID_NAME', /--cert: "bad name!" is not a valid certificate name/)
  bad({ publish: ['80:80'], cert: 'site' }, 'MESH_ERR_USAGE', /service x: --cert site is the certificate of https ports, and it publishes none \(publish one, e\.g\. --publish 443:80\/https\)/)
  bad({ publish: ['8443:443/tls'], cert: 'site' }, 'MESH_ERR_USAGE', /--cert site is the certificate of https ports/)
  bad({ publish: ['80:80'], 'proxy-protocol': '1' }, 'MESH_ERR_USAGE', /--proxy-protocol 1 applies to tcp and tls ports/)
  bad({ publish: ['53:53/udp'], 'proxy-protocol': '2' }, 'MESH_ERR_USAGE', /--proxy-protocol 2 applies to tcp and tls ports/)
  bad({ publish: ['5432:5432/tcp'], backend: 'h2c' }, 'MESH_ERR_USAGE', /--backend h2c applies to http and https ports/)
  bad({ publish: ['443:80/https'], 'redirect-https': true }, 'MESH_ERR_USAGE', /--redirect-https applies to plain http ports/)
  bad({ publish: ['53:53/udp'], host: ['a.example'] }, 'MESH_ERR_USAGE', /--host names apply to http, https and tls ports; it publishes only udp ports/)
  bad({ publish: ['5432:5432/tcp', '53:53/udp'], host: ['a.example'] }, 'MESH_ERR_USAGE', /only tcp and udp ports/)
})

t.test('update merges the flags given over the stored options', async (t) => {
  t.same(optionsOf(undefined), DEFAULT_OPTIONS, 'a record older than options: the defaults')
  const base = { backend: 'h2c' as const, cert: 'site', proxyProtocol: 0 as const, redirectHttps: true }
  t.same(applyOptions(base, optionFlags({ cert: '' })), { ...base, cert: null }, "--cert '' clears it")
  t.same(applyOptions(base, optionFlags({ 'redirect-https': false })), { ...base, redirectHttps: false })
  t.same(applyOptions(base, optionFlags({})), base)
  t.same(optionFlags({}), {})
})
