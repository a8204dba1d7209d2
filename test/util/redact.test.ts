import t from 'tap'
import { hasSecret, redactUrl } from '../../lib/util/redact'
import { redactUrl as clientRedact } from '../../lib/registry/client'

t.test('every URL form loses its passwords, user names and hosts stay', async (t) => {
  const cases: Array<[string, string]> = [
    ['redis://u:pw@127.0.0.1:6379/0', 'redis://u:***@127.0.0.1:6379/0'],
    ['rediss://:pw@h.example.test:6380', 'rediss://:***@h.example.test:6380'],
    ['redis+sentinel://mesh:pw@10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mesh', 'redis+sentinel://mesh:***@10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mesh'],
    ['rediss+sentinel://:pw@[::1]:26379,h2/mesh?sentinelUsername=w&sentinelPassword=spw', 'rediss+sentinel://:***@[::1]:26379,h2/mesh?sentinelUsername=w&sentinelPassword=***'],
    ['redis+sentinel://:p/w@rd@h1:1,h2:2/mesh', 'redis+sentinel://:***@h1:1,h2:2/mesh'],
    ['redis://:a/b@h:1', 'redis://:***@h:1'],
    ['registry redis+sentinel://:pw@h1,h2/m unreachable; was redis://:x@old', 'registry redis+sentinel://:***@h1,h2/m unreachable; was redis://:***@old']
  ]
  for (const [url, shown] of cases) {
    t.equal(redactUrl(url), shown, url)
    t.equal(clientRedact(url), shown, `the registry client's messages too: ${url}`)
    t.ok(hasSecret(url))
  }
  t.equal(redactUrl('redis+sentinel://h1:1,h2:2/mesh'), 'redis+sentinel://h1:1,h2:2/mesh', 'nothing to hide: unchanged')
  t.notOk(hasSecret('redis+sentinel://h1:1,h2:2/mesh'))
})
