/**
 * Lua scripts: the only code that writes registry records. Each write changes
 * the records, bumps the revision and appends one change-feed entry in one
 * atomic step, so a reader never sees half a change and never misses one
 * without noticing (the revision would jump).
 *
 * Epochs (README "Restore and epochs"): only CREATE_CLUSTER founds an epoch.
 * WRITE refuses a registry without one, and any write while a restore window
 * is open; RESTORE is how nodes refill an emptied registry, freshest state
 * winning. Times inside the scripts are Redis's own clock (TIME), so the
 * window means the same to every node whatever their clocks say.
 */

import { ACK_CHAR, PART_CHAR, PART_HASH } from './keys'
import type { PartType } from './types'

/** Lua table: part character -> hash name below the prefix (the same table as keys.ts). */
const NAMES = `local names = {${(Object.keys(PART_CHAR) as PartType[]).map((p) => `${PART_CHAR[p]}='${PART_HASH[p]}'`).join(', ')}}`
/** Lua list of every part hash name (a restore replaces them all). */
const ALL_HASHES = `{${(Object.keys(PART_HASH) as PartType[]).map((p) => `'${PART_HASH[p]}'`).join(', ')}}`

/** Server time in ms (scripts are replicated by effects, so TIME is allowed before writes). */
const NOW = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`

/**
 * What every write (WRITE, FOLD) checks first, with KEYS[1] the epoch and
 * KEYS[5] the restore hash: the registry has an epoch (and `expected`'s,
 * unless ''), and no restore window is open. Returns nil and the epoch when
 * the write may go on, else its refusal: {-3, epoch or ''} or {-4, ms left}.
 */
const WRITE_GUARD = NOW + `
local function write_guard(expected)
  local epoch = redis.call('GET', KEYS[1])
  if not epoch then return {-3, ''} end
  if expected ~= '' and epoch ~= expected then return {-3, epoch} end
  local untilMs = tonumber(redis.call('HGET', KEYS[5], 'until') or '0')
  if untilMs > 0 then
    local left = untilMs - now_ms()
    if left > 0 then return {-4, left} end
  end
  return nil, epoch
end
`

/**
 * KEYS: epoch, rev, changes, fence, restore
 * ARGV: prefix, maxlen, expectedRev ('' = any), fenceToken ('' = none),
 *       expectedEpoch ('' = whatever epoch the registry has),
 *       then (part char, id, json | '' to delete) per stored part (keys.ts PART_CHAR).
 * Returns {rev, epoch}, or {-1, currentRev} on a revision conflict,
 * {-2, currentFence} when the fencing token is stale, {-3, currentEpoch or ''}
 * when the registry has no epoch or another one than expected, and
 * {-4, ms left} while a restore window is open.
 */
export const WRITE = WRITE_GUARD + `
local refused, epoch = write_guard(ARGV[5])
if refused then return refused end
if ARGV[3] ~= '' then
  local cur = redis.call('GET', KEYS[2]) or '0'
  if cur ~= ARGV[3] then return {-1, cur} end
end
if ARGV[4] ~= '' then
  local f = redis.call('GET', KEYS[4]) or ''
  if f ~= ARGV[4] then return {-2, f} end
end
${NAMES}
local rev = redis.call('INCR', KEYS[2])
local entry = {'rev', tostring(rev)}
for i = 6, #ARGV, 3 do
  local hash = ARGV[1] .. names[ARGV[i]]
  if ARGV[i + 2] == '' then
    redis.call('HDEL', hash, ARGV[i + 1])
  else
    redis.call('HSET', hash, ARGV[i + 1], ARGV[i + 2])
  end
  entry[#entry + 1] = ARGV[i] .. ':' .. ARGV[i + 1]
  entry[#entry + 1] = ARGV[i + 2]
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', unpack(entry))
return {rev, epoch}
`

/**
 * Founds a cluster: sets the epoch only when there is none.
 * KEYS: epoch, rev; ARGV: new epoch.
 * Returns {1, epoch} when created, {0, existing epoch} when one was there.
 */
export const CREATE_CLUSTER = `
local e = redis.call('GET', KEYS[1])
if e then return {0, e} end
redis.call('SET', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], '0') end
return {1, ARGV[1]}
`

/** Fields of the restore hash as the snapshot and liveness scripts return them: from, node, ms left (<= 0: closed). */
const RESTORE_INFO = `
local function restore_info(key)
  local r = redis.call('HMGET', key, 'from', 'node', 'until')
  if not r[3] then return {'', '', '0'} end
  return {r[1] or '', r[2] or '', tostring(tonumber(r[3]) - now_ms())}
end
`

/**
 * A consistent read of everything at one revision.
 * KEYS: epoch, rev, changes, fence, restore, then the part hashes in PART_HASH order
 * Returns {epoch|'', rev, lastStreamId, fence, {from, node, msLeft}, hgetall of each part hash...}
 */
export const SNAPSHOT = NOW + RESTORE_INFO + `
local out = {redis.call('GET', KEYS[1]) or '', redis.call('GET', KEYS[2]) or '0', '0-0', redis.call('GET', KEYS[4]) or '0', restore_info(KEYS[5])}
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
if #last > 0 then out[3] = last[1][1] end
for i = 6, #KEYS do out[#out + 1] = redis.call('HGETALL', KEYS[i]) end
return out
`

/**
 * A node offers its last-known-good state to a registry that lost it.
 *
 * - No epoch (flushed, or restarted empty): the offer is written whole, at the
 *   revision it was read at, and a restore window opens for `window` ms.
 * - Same epoch, window open: a fresher offer (higher revision) replaces the
 *   records wholesale; an equal or staler one only counts the node as heard.
 *   The window closes early once every node the restorers saw alive was heard.
 * - Same epoch, window closed: the registry is the truth; nothing written.
 * - Another epoch: a different cluster; nothing written.
 * Every restore sets the fencing counter to max(registry, highest token the
 * node saw) + 1 and drops the lease, so a leader from before the restore fails
 * the fence check; it restores the heartbeats of the nodes the offer saw alive
 * (for one TTL, unless the node beat already), so nobody looks dead for want of
 * a key that vanished with the old Redis.
 *
 * KEYS: epoch, rev, changes, fence, lease, restore, pending
 * ARGV: prefix, maxlen, epoch ('' = nothing to offer: only be counted as heard),
 *       fromRev, seenFence, nodeId, window ms, heartbeat ttl ms, aliveCount,
 *       then aliveCount node ids (their heartbeats are restored), pendingCount,
 *       then pendingCount node ids (the window waits to hear from them: the
 *       nodes that may restore), then (part char, id, json) per stored part.
 * Returns {1, rev} restored, {2, rev} replaced a staler restore,
 * {0, ''} nothing to do, {-1, from} the restore in place is as fresh or fresher,
 * {-2, epoch} the registry belongs to another epoch.
 */
export const RESTORE = NOW + `
local now = now_ms()
local nodeId = ARGV[6]
local function heard()
  redis.call('SREM', KEYS[7], nodeId)
  if redis.call('SCARD', KEYS[7]) == 0 and tonumber(redis.call('HGET', KEYS[6], 'until') or '0') > now then
    redis.call('HSET', KEYS[6], 'until', tostring(now))
  end
end
local epoch = redis.call('GET', KEYS[1])
local fromRev = tonumber(ARGV[4])
local replacing = false
if epoch then
  if ARGV[3] == '' or epoch ~= ARGV[3] then
    heard()
    if ARGV[3] ~= '' then return {-2, epoch} end
    return {0, ''}
  end
  if tonumber(redis.call('HGET', KEYS[6], 'until') or '0') <= now then return {0, ''} end
  local from = tonumber(redis.call('HGET', KEYS[6], 'from') or '0')
  if fromRev <= from then
    heard()
    return {-1, tostring(from)}
  end
  replacing = true
  for _, h in ipairs(${ALL_HASHES}) do redis.call('DEL', ARGV[1] .. h) end
elseif ARGV[3] == '' then
  return {0, ''}
end
local rev = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), fromRev)
redis.call('SET', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], tostring(rev))
local fence = math.max(tonumber(redis.call('GET', KEYS[4]) or '0'), tonumber(ARGV[5])) + 1
redis.call('SET', KEYS[4], tostring(fence))
redis.call('DEL', KEYS[5])
if not replacing then
  redis.call('DEL', KEYS[7])
  redis.call('HSET', KEYS[6], 'until', tostring(now + tonumber(ARGV[7])))
end
redis.call('HSET', KEYS[6], 'from', tostring(fromRev), 'node', nodeId, 'at', tostring(now))
local n = tonumber(ARGV[9])
for i = 10, 9 + n do
  redis.call('SET', ARGV[1] .. 'hb:' .. ARGV[i], tostring(fromRev), 'PX', ARGV[8], 'NX')
end
local p = tonumber(ARGV[10 + n])
for i = 11 + n, 10 + n + p do
  if ARGV[i] ~= nodeId then redis.call('SADD', KEYS[7], ARGV[i]) end
end
${NAMES}
for i = 11 + n + p, #ARGV, 3 do
  redis.call('HSET', ARGV[1] .. names[ARGV[i]], ARGV[i + 1], ARGV[i + 2])
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', 'rev', tostring(rev), 'restore', nodeId)
heard()
if replacing then return {2, rev} end
return {1, rev}
`

/**
 * The leader folds a joined worker's reports into the registry (its own
 * report stream: the only thing a worker may append to besides its heartbeat
 * and task logs). Each report is checked here, in the same atomic step as
 * the write: a task's status or health verdict only for a task placed on that
 * node (not a static endpoint), a node status only for the node itself;
 * anything else is counted as refused and dropped. One change entry carries
 * what was accepted and `r:<node> <report id>`, the acknowledgement the
 * worker waits for; the folded position is recorded for the next leader.
 *
 * KEYS: epoch, rev, changes, fence, restore, tasks, folded
 * ARGV: prefix, maxlen, fence ('' = none), expected epoch ('' = any), node id,
 *       report id, then (part char, id, json) per reported part.
 * Returns {rev, accepted, refused}, or {-2, fence} / {-3, epoch} / {-4, ms left} as WRITE.
 */
export const FOLD = WRITE_GUARD + `
local refused = write_guard(ARGV[4])
if refused then return refused end
if ARGV[3] ~= '' then
  local f = redis.call('GET', KEYS[4]) or ''
  if f ~= ARGV[3] then return {-2, f} end
end
local reporter = ARGV[5]
local function placed_here(id)
  local spec = redis.call('HGET', KEYS[6], id)
  if not spec then return false end
  local ok, rec = pcall(cjson.decode, spec)
  return ok and type(rec) == 'table' and rec.node == reporter and rec.static == false
end
${NAMES}
local rev = redis.call('INCR', KEYS[2])
local entry = {'rev', tostring(rev)}
local accepted, refused = 0, 0
for i = 7, #ARGV, 3 do
  local c, id, json = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local ok = false
  if json ~= '' then
    if c == '${PART_CHAR.taskStatus}' or c == '${PART_CHAR.health}' then ok = placed_here(id)
    elseif c == '${PART_CHAR.nodeStatus}' then ok = id == reporter end
  end
  if ok then
    redis.call('HSET', ARGV[1] .. names[c], id, json)
    entry[#entry + 1] = c .. ':' .. id
    entry[#entry + 1] = json
    accepted = accepted + 1
  else
    refused = refused + 1
  end
end
entry[#entry + 1] = '${ACK_CHAR}:' .. reporter
entry[#entry + 1] = ARGV[6]
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', unpack(entry))
redis.call('HSET', KEYS[7], reporter, ARGV[6])
return {rev, accepted, refused}
`
