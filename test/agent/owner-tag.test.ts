/**
 * The owner tag every task carries in its environment (MESH_TASK_OWNER):
 * readable by anyone who can read /proc, so nothing of a credential may go
 * into it, whatever form the registry URL takes.
 */
import t from 'tap'
import { ownerTag } from '../../lib/agent/orphans'

t.test('the tag names the registry, never its credentials: the same with or without a password, for one server and through Sentinel', async (t) => {
  t.equal(ownerTag('redis://:s3cret@127.0.0.1:6379/0', 'mesh:', 'n1'), ownerTag('redis://127.0.0.1:6379/0', 'mesh:', 'n1'))
  t.equal(ownerTag('redis://127.0.0.1/0', 'mesh:', 'n1'), ownerTag('redis://127.0.0.1:6379/0', 'mesh:', 'n1'), 'the default port is the port')
  const a = ownerTag('redis+sentinel://admin:s3cret@127.0.0.1:26379,127.0.0.2:26379/mymaster', 'mesh:', 'n1')
  const b = ownerTag('redis+sentinel://127.0.0.2:26379,127.0.0.1:26379/mymaster', 'mesh:', 'n1')
  const c = ownerTag('redis+sentinel://admin:other@127.0.0.1:26379,127.0.0.2:26379/mymaster', 'mesh:', 'n1')
  t.equal(a, b, 'a Sentinel URL with a password tags as the same one without it')
  t.equal(a, c, 'another password: the same tag')
  t.not(a, ownerTag('redis+sentinel://127.0.0.1:26379,127.0.0.2:26379/other', 'mesh:', 'n1'), 'another master: another cluster')
  t.not(ownerTag('redis://127.0.0.1:6379/0', 'mesh:', 'n1'), ownerTag('redis://127.0.0.1:6379/0', 'mesh:', 'n2'), 'another node')
})
