/**
 * Lua scripts: the only code that writes registry records. Each write changes
 * the records, bumps the revision and appends one change-feed entry in one
 * atomic step, so a reader never sees half a change and never misses one
 * without noticing (the revision would jump).
 */

/**
 * KEYS: epoch, rev, changes, fence
 * ARGV: prefix, maxlen, newEpoch, expectedRev ('' = any), fenceToken ('' = none),
 *       expectedEpoch ('' = any: create the epoch if missing),
 *       then (typeChar, id, json | '' to delete) per record.
 * Returns {rev, epoch}, or {-1, currentRev} on a revision conflict,
 * {-2, currentFence} when the fencing token is stale, or {-3, currentEpoch}
 * when the writer expects an epoch the registry does not have (a node never
 * writes into a flushed registry before its state was restored).
 */
export const WRITE = `
local epoch = redis.call('GET', KEYS[1])
if ARGV[6] ~= '' and epoch ~= ARGV[6] then return {-3, epoch or ''} end
if not epoch then
  redis.call('SET', KEYS[1], ARGV[3])
  epoch = ARGV[3]
end
if ARGV[4] ~= '' then
  local cur = redis.call('GET', KEYS[2]) or '0'
  if cur ~= ARGV[4] then return {-1, cur} end
end
if ARGV[5] ~= '' then
  local f = redis.call('GET', KEYS[4]) or ''
  if f ~= ARGV[5] then return {-2, f} end
end
local names = {s='services', t='tasks', h='health', n='nodes'}
local rev = redis.call('INCR', KEYS[2])
local entry = {'rev', tostring(rev)}
for i = 7, #ARGV, 3 do
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
 * KEYS: epoch, rev, changes, services, tasks, health, nodes
 * ARGV: heartbeat key prefix
 * Returns {epoch|'', rev, lastStreamId, services[], tasks[], health[], nodes[], aliveIds[]}
 */
export const SNAPSHOT = `
local epoch = redis.call('GET', KEYS[1]) or ''
local rev = redis.call('GET', KEYS[2]) or '0'
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local lastId = '0-0'
if #last > 0 then lastId = last[1][1] end
local alive = {}
for _, id in ipairs(redis.call('HKEYS', KEYS[7])) do
  if redis.call('EXISTS', ARGV[1] .. id) == 1 then alive[#alive + 1] = id end
end
return {epoch, rev, lastId, redis.call('HGETALL', KEYS[4]), redis.call('HGETALL', KEYS[5]),
  redis.call('HGETALL', KEYS[6]), redis.call('HGETALL', KEYS[7]), alive}
`

/**
 * KEYS: epoch, rev, nodes
 * ARGV: heartbeat key prefix
 * Returns {epoch|'', rev, aliveIds[]}: the cheap poll behind node liveness and flush detection.
 */
export const LIVENESS = `
local alive = {}
for _, id in ipairs(redis.call('HKEYS', KEYS[3])) do
  if redis.call('EXISTS', ARGV[1] .. id) == 1 then alive[#alive + 1] = id end
end
return {redis.call('GET', KEYS[1]) or '', redis.call('GET', KEYS[2]) or '0', alive}
`

/**
 * Restores a flushed or restarted-empty registry from a node's last-known-good
 * state. Only when the epoch key is gone, so of several nodes racing one wins.
 * KEYS: epoch, rev, changes
 * ARGV: prefix, epoch, rev, then (typeChar, id, json) per record.
 * Returns 1 when restored, 0 when the registry already had an epoch.
 */
export const RESTORE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local names = {s='services', t='tasks', h='health', n='nodes'}
redis.call('SET', KEYS[1], ARGV[2])
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
local rev = math.max(cur, tonumber(ARGV[3])) + 1
redis.call('SET', KEYS[2], rev)
for i = 4, #ARGV, 3 do
  redis.call('HSET', ARGV[1] .. names[ARGV[i]], ARGV[i + 1], ARGV[i + 2])
end
redis.call('XADD', KEYS[3], '*', 'rev', tostring(rev), 'restore', '1')
return 1
`

/**
 * KEYS: heartbeat key, nodes hash
 * ARGV: node id, ttl ms, served revision
 * Returns 1 when the node record exists, 0 when it must register again.
 */
export const HEARTBEAT = `
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
return redis.call('HEXISTS', KEYS[2], ARGV[1])
`
