import t from 'tap'
import { parseRedisUrl, redisIdentity } from '../../lib/config/redis-url'
import { loadConfig } from '../../lib/config/load'
import { isMeshError } from '../../lib/errors'

t.test('the Sentinel form: sentinels, master, credentials of the servers and of the sentinels', async (t) => {
  t.same(parseRedisUrl('redis+sentinel://10.0.0.1:26379,10.0.0.2:26380,sentinel-3.example.test/mesh'), {
    kind: 'sentinel', tls: false, master: 'mesh', username: '', password: '', sentinelUsername: '', sentinelPassword: '',
    sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26380 }, { host: 'sentinel-3.example.test', port: 26379 }]
  }, 'a sentinel without a port is on 26379')
  const full = parseRedisUrl('rediss+sentinel://mesh-admin:p%40ss:w@rd@[::1]:5000,127.0.0.1:5001/lab.1?sentinelUsername=watch&sentinelPassword=s%26cret')
  t.same(full, {
    kind: 'sentinel', tls: true, master: 'lab.1', username: 'mesh-admin', password: 'p@ss:w@rd', sentinelUsername: 'watch', sentinelPassword: 's&cret',
    sentinels: [{ host: '::1', port: 5000 }, { host: '127.0.0.1', port: 5001 }]
  }, 'TLS, percent-encoded and raw @ in the password, IPv6, sentinel credentials in the query')
  t.same(parseRedisUrl('REDIS+SENTINEL://:pw@h1:1/m').kind, 'sentinel', 'the scheme in any case')
  t.same(parseRedisUrl('redis://u:p@127.0.0.1:6379/2'), { kind: 'server', tls: false, url: 'redis://u:p@127.0.0.1:6379/2' }, 'one server: ioredis parses the URL')
  t.equal(parseRedisUrl('rediss://h.example.test:6380').tls, true)
})

t.test('a bad URL is one MESH_ERR_CONFIG naming the bad part, its password hidden', async (t) => {
  const secret = 'Sup3rS3cret'
  const cases: Array<[string, RegExp]> = [
    [`redis+sentinel://:${secret}@h1:26379,h2:99999/mesh`, /sentinel "h2:99999": port "99999" is not 1-65535/],
    [`redis+sentinel://:${secret}@h1:26379,h2:x/mesh`, /sentinel "h2:x": port "x" is not 1-65535/],
    [`redis+sentinel://:${secret}@h1:26379,,h3/mesh`, /empty sentinel address/],
    [`redis+sentinel://:${secret}@h1:26379,h_2:1/mesh`, /sentinel "h_2:1": "h_2" is not a host name or IP address/],
    [`redis+sentinel://:${secret}@::1:26379/mesh`, /write an IPv6 address in brackets/],
    [`redis+sentinel://:${secret}@[::1:26379/mesh`, /needs its closing \]/],
    [`redis+sentinel://:${secret}@[10.0.0.1]:1/mesh`, /"10\.0\.0\.1" is not an IPv6 address/],
    [`redis+sentinel://:${secret}@h1:1,h1:1/mesh`, /lists sentinel h1:1 twice/],
    [`redis+sentinel://:${secret}@h1:1,h2:2`, /names no master: end it with \/MASTER/],
    [`redis+sentinel://:${secret}@h1:1,h2:2/`, /names no master/],
    [`redis+sentinel://:${secret}@/mesh`, /names no sentinel/],
    [`redis+sentinel://:${secret}@h1:1/mesh/0`, /master name "mesh\/0".*no \/db/],
    [`redis+sentinel://:${secret}@h1:1/mesh?db=1`, /query parameter "db": known are sentinelUsername, sentinelPassword/],
    [`redis+sentinel://:${secret}@h1:1/mesh?sentinelPassword=a&sentinelPassword=b`, /query parameter "sentinelPassword" twice/],
    [`redis+sentinel://:${secret}@h1:1/mesh#x`, /#fragment/],
    [`redis+sentinel://:${secret}%zz@h1:1/mesh`, /not percent-encoded/],
    [`redis://:${secret}@h1:6379,h2:6379`, /several hosts are the Sentinel form, redis\+sentinel:\/\//],
    [`http://:${secret}@h1:6379`, /is not a redis:\/\/ or rediss:\/\/ URL, nor a Sentinel one/]
  ]
  for (const [url, message] of cases) {
    try {
      parseRedisUrl(url)
      t.fail(`accepted ${url}`)
      continue
    } catch (err) {
      t.ok(isMeshError(err, 'MESH_ERR_CONFIG'), `coded: ${(err as Error).message}`)
      t.match((err as Error).message, message)
      t.match((err as Error).message, /^config key redis\.url: ".*\*\*\*/, 'names the key, shows the URL redacted')
      t.notMatch((err as Error).message, secret, 'no password')
    }
  }
  t.throws(() => loadConfig({ env: { MESH_REDIS_URL: `redis+sentinel://:${secret}@h1:26379,h2:0/m` } }), /config key redis\.url: .*sentinel "h2:0": port "0" is not 1-65535/, 'the loader refuses it at start')
  t.equal(loadConfig({ env: {}, overrides: { 'redis.url': 'redis+sentinel://h1,h2,h3/mesh' } }).redis.url, 'redis+sentinel://h1,h2,h3/mesh', 'and accepts a good one as given')
})

t.test('redisIdentity: which registry, without credentials', async (t) => {
  t.equal(redisIdentity('redis+sentinel://u:pw@h2:26380,h1/mesh?sentinelPassword=x'), 'sentinel h1:26379,h2:26380/mesh')
  t.equal(redisIdentity('redis+sentinel://h1,h2:26380/mesh'), redisIdentity('redis+sentinel://:other@h2:26380,h1/mesh'), 'the same set in another order, other credentials')
  t.equal(redisIdentity('rediss://u:pw@10.0.0.1:6380/2'), '10.0.0.1:6380/2')
  t.equal(redisIdentity('redis://:pw@h'), 'h:6379/')
})
