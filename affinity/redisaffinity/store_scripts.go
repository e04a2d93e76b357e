package redisaffinity

import "github.com/redis/go-redis/v9"

// Every script declares each key it touches in KEYS; all of them carry the
// application's hash tag, so one script never spans cluster slots. Times
// come from Redis's own clock (TIME), never from the node's.
//
// A session hash holds w (worker), u (user subject), v (version), c
// (created, ms) and la (last recorded access, ms), and expires by PEXPIRE
// IdleTimeout after la. Its member in the worker index is its key's hex,
// scored la + IdleTimeout.

// luaPrelude is prepended to every script.
const luaPrelude = `
local function clock()
	local t = redis.call('TIME')
	local s, us = tonumber(t[1]), tonumber(t[2])
	return s * 1000 + math.floor(us / 1000), s * 1000000 + us
end
local function fmt(n) return string.format('%.0f', n) end
`

func newScript(body string) *redis.Script { return redis.NewScript(luaPrelude + body) }

// scriptGet reads one session.
// KEYS: session. Reply: {'nf'} or {'ok', w, u, v, c, la, pttl}.
var scriptGet = newScript(`
local h = redis.call('HMGET', KEYS[1], 'w', 'u', 'v', 'c', 'la')
if not h[1] then return {'nf'} end
return {'ok', h[1], h[2], h[3], h[4], h[5], redis.call('PTTL', KEYS[1])}
`)

// scriptSet creates or replaces a session. A live session on a worker other
// than the new one and the expected one is not changed: the reply names its
// worker, and the caller retries with that worker's index declared.
// KEYS: session, new worker index, expected old worker index, workers.
// ARGV: member, worker, user, expected old worker, idle ms.
// Reply: {'retry', worker} or {'ok', w, u, v, c, la, pttl}.
var scriptSet = newScript(`
local ms, us = clock()
local idle = tonumber(ARGV[5])
local cur = redis.call('HMGET', KEYS[1], 'w', 'v', 'c')
local v, c = us, ms
if cur[1] then
	if cur[1] ~= ARGV[2] and cur[1] ~= ARGV[4] then return {'retry', cur[1]} end
	if cur[1] ~= ARGV[2] then
		redis.call('ZREM', KEYS[3], ARGV[1])
		if redis.call('ZCARD', KEYS[3]) == 0 then redis.call('SREM', KEYS[4], cur[1]) end
	end
	v = math.max(tonumber(cur[2]) + 1, us)
	c = tonumber(cur[3])
end
redis.call('HSET', KEYS[1], 'w', ARGV[2], 'u', ARGV[3], 'v', fmt(v), 'c', fmt(c), 'la', fmt(ms))
redis.call('PEXPIRE', KEYS[1], idle)
redis.call('ZADD', KEYS[2], fmt(ms + idle), ARGV[1])
redis.call('SADD', KEYS[4], ARGV[2])
return {'ok', ARGV[2], ARGV[3], fmt(v), fmt(c), fmt(ms), idle}
`)

// scriptTouch records an access if the last one is at least a granularity
// old, in the hash and the worker index together; otherwise it only reads.
// It never creates: a missing hash is 'nf'. When a write is due but the
// session's worker is not the expected one (whose index is declared), it
// writes nothing and names the worker for a retry.
// KEYS: session, expected worker index. ARGV: member, expected worker,
// idle ms, granularity ms.
// Reply: {'nf'}, {'retry', worker} or {'ok', w, u, v, c, la, pttl}.
var scriptTouch = newScript(`
local ms = clock()
local h = redis.call('HMGET', KEYS[1], 'w', 'u', 'v', 'c', 'la')
if not h[1] then return {'nf'} end
local la = tonumber(h[5])
if ms - la >= tonumber(ARGV[4]) then
	if h[1] ~= ARGV[2] then return {'retry', h[1]} end
	local idle = tonumber(ARGV[3])
	redis.call('HSET', KEYS[1], 'la', fmt(ms))
	redis.call('PEXPIRE', KEYS[1], idle)
	redis.call('ZADD', KEYS[2], fmt(ms + idle), ARGV[1])
	la = ms
end
return {'ok', h[1], h[2], h[3], h[4], fmt(la), redis.call('PTTL', KEYS[1])}
`)

// scriptDelete removes a session and its index member.
// KEYS: session, expected worker index, workers. ARGV: member, expected worker.
// Reply: {'nf'}, {'retry', worker} or {'ok'}.
var scriptDelete = newScript(`
local w = redis.call('HGET', KEYS[1], 'w')
if not w then return {'nf'} end
if w ~= ARGV[2] then return {'retry', w} end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('SREM', KEYS[3], w) end
return {'ok'}
`)

// scriptCount counts the live members of worker indexes: O(log n) each.
// KEYS: worker indexes. Reply: count.
var scriptCount = newScript(`
local ms = clock()
local n = 0
for i = 1, #KEYS do n = n + redis.call('ZCOUNT', KEYS[i], '(' .. fmt(ms), '+inf') end
return n
`)

// scriptRange lists members of a worker index: the live ones, or those
// idle past a cutoff (score <= now + ARGV[2]), at most ARGV[3].
// KEYS: worker index. ARGV: 'live' or 'idle', offset ms, limit.
var scriptRange = newScript(`
local ms = clock()
if ARGV[1] == 'live' then
	return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. fmt(ms), '+inf', 'LIMIT', 0, ARGV[3])
end
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', fmt(ms + tonumber(ARGV[2])), 'LIMIT', 0, ARGV[3])
`)

// scriptMove moves a chunk of one worker's sessions to another worker. Each
// listed member leaves the old index; sessions still on the old worker go
// to the new one with their idle deadline and a new version; expired or
// already moved ones are only dropped from the old index.
// KEYS: old index, new index, workers, session... ARGV: old worker, new
// worker, member... (ARGV[i+2] is the member of KEYS[i+3]). Reply: moved.
var scriptMove = newScript(`
local ms, us = clock()
local moved = 0
for i = 4, #KEYS do
	local m = ARGV[i - 1]
	local h = redis.call('HMGET', KEYS[i], 'w', 'v')
	if h[1] == ARGV[1] then
		local score = redis.call('ZSCORE', KEYS[1], m) or fmt(ms + redis.call('PTTL', KEYS[i]))
		redis.call('HSET', KEYS[i], 'w', ARGV[2], 'v', fmt(math.max(tonumber(h[2]) + 1, us)))
		redis.call('ZADD', KEYS[2], score, m)
		moved = moved + 1
	end
	redis.call('ZREM', KEYS[1], m)
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[3], ARGV[1]) end
if moved > 0 then redis.call('SADD', KEYS[3], ARGV[2]) end
return moved
`)

// scriptDrop deletes a chunk of one worker's sessions.
// KEYS: index, workers, session... ARGV: worker, member... (ARGV[i-1] is
// the member of KEYS[i]). Reply: live sessions deleted.
var scriptDrop = newScript(`
local n = 0
for i = 3, #KEYS do
	if redis.call('HGET', KEYS[i], 'w') == ARGV[1] then
		redis.call('DEL', KEYS[i])
		n = n + 1
	end
	redis.call('ZREM', KEYS[1], ARGV[i - 1])
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end
return n
`)

// scriptSweep deletes the listed sessions of one worker that are still idle
// past the cutoff (score <= now + ARGV[2]): re-checked here, so a session
// touched since it was listed survives. Expired sessions (hash already gone)
// count as removed; members of sessions now on another worker are dropped
// without counting.
// KEYS: index, workers, session... ARGV: worker, offset ms, member...
// (ARGV[i] is the member of KEYS[i]). Reply: removed.
var scriptSweep = newScript(`
local ms = clock()
local cutoff = ms + tonumber(ARGV[2])
local n = 0
for i = 3, #KEYS do
	local m = ARGV[i]
	local score = redis.call('ZSCORE', KEYS[1], m)
	if score and tonumber(score) <= cutoff then
		local w = redis.call('HGET', KEYS[i], 'w')
		if w == ARGV[1] then
			redis.call('DEL', KEYS[i])
			n = n + 1
		elseif not w then
			n = n + 1
		end
		redis.call('ZREM', KEYS[1], m)
	end
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end
return n
`)
