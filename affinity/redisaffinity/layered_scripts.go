package redisaffinity

// The Layered store's cache. A copy is a hash: w, u, v (the primary's
// version), c and la (the primary's created and last-access times, µs), e
// (the generation its read began under), x (its idle deadline by Redis's
// clock, ms), q (until when a touch need not reach the primary, Redis ms).
// A tombstone is a hash with t = 1 and g (the generation of the delete).
//
// The generation hash (keys.gen) holds g, a counter that every
// invalidation bumps; f, the floor below which every copy is stale (raised
// by a flush); and w:<worker>, the generation of the worker's last reroute
// or delete. A copy is served only if its e is at least the floor and its
// worker's epoch: a reroute makes all of a worker's copies stale with one
// HSET. When the generation hash is missing (evicted, flushed), it is
// recreated starting at the current Redis time in microseconds, above any
// generation handed out before, so no old copy becomes valid again.

// luaGen is prepended to the scripts that read or bump generations.
const luaGen = `
local function gen(k)
	local g = redis.call('HMGET', k, 'g', 'f')
	if not g[1] then
		local _, us = clock()
		redis.call('HSET', k, 'g', fmt(us), 'f', fmt(us))
		return us, us
	end
	return tonumber(g[1]), tonumber(g[2])
end
local function bump(k)
	gen(k)
	return redis.call('HINCRBY', k, 'g', 1)
end
`

// cacheLookup reads a copy, dropping it if stale, and returns the current
// generation for a fill after the primary read.
// KEYS: copy, generations.
// Reply: {0, g} (miss) or {1, g, w, u, v, c, la, expires ms, quiet 0|1}.
var cacheLookup = newScript(luaGen + `
local g, f = gen(KEYS[2])
local e = redis.call('HMGET', KEYS[1], 'w', 'u', 'v', 'c', 'la', 'e', 'x', 'q')
if not e[1] then return {0, fmt(g)} end
local ep = tonumber(redis.call('HGET', KEYS[2], 'w:' .. e[1]) or '0')
if tonumber(e[6]) < math.max(f, ep) then
	redis.call('DEL', KEYS[1])
	return {0, fmt(g)}
end
local ms = clock()
local left = tonumber(e[7]) - ms
if left <= 0 then return {0, fmt(g)} end
local quiet = 0
if e[8] and ms < tonumber(e[8]) then quiet = 1 end
return {1, fmt(g), e[1], e[2], e[3], e[4], e[5], fmt(left), quiet}
`)

// cacheGeneration returns the current generation.
// KEYS: generations. Reply: g.
var cacheGeneration = newScript(luaGen + `
local g = gen(KEYS[1])
return fmt(g)
`)

// cacheFill stores a copy read from the primary under generation g0 (read
// before the primary was). It refuses when anything invalidated since g0
// could concern the copy: the floor or the worker's epoch is above g0, or
// a tombstone of a later generation is there; it also refuses to replace
// a copy of a newer version (or of the same version, except for a touch,
// which refreshes it). When it refuses, an older copy is dropped, so what
// remains is never older than what the caller read.
// KEYS: copy, generations.
// ARGV: mode ('fill'|'touch'), g0, w, u, v, c, la, ttl ms, quiet ms, expires ms.
// Reply: 1 stored, 0 refused.
var cacheFill = newScript(`
local g = redis.call('HMGET', KEYS[2], 'g', 'f')
if not g[1] then return 0 end
local g0, v = tonumber(ARGV[2]), tonumber(ARGV[5])
local refuse = g0 < tonumber(g[2])
local ep = redis.call('HGET', KEYS[2], 'w:' .. ARGV[3])
if ep and g0 < tonumber(ep) then refuse = true end
local cur = redis.call('HMGET', KEYS[1], 'v', 't', 'g')
if cur[2] then
	if g0 < tonumber(cur[3]) then refuse = true end
elseif cur[1] then
	local cv = tonumber(cur[1])
	if cv > v or (cv == v and ARGV[1] ~= 'touch') then refuse = true end
end
if refuse then
	if cur[1] and tonumber(cur[1]) < v then redis.call('DEL', KEYS[1]) end
	return 0
end
local ms = clock()
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'w', ARGV[3], 'u', ARGV[4], 'v', ARGV[5], 'c', ARGV[6], 'la', ARGV[7],
	'e', ARGV[2], 'x', fmt(ms + tonumber(ARGV[10])))
if tonumber(ARGV[9]) > 0 then redis.call('HSET', KEYS[1], 'q', fmt(ms + tonumber(ARGV[9]))) end
redis.call('PEXPIRE', KEYS[1], ARGV[8])
return 1
`)

// cacheTomb replaces copies by tombstones of one new generation.
// KEYS: generations, copy... ARGV: tombstone ttl ms.
var cacheTomb = newScript(luaGen + `
local g = bump(KEYS[1])
for i = 2, #KEYS do
	redis.call('DEL', KEYS[i])
	redis.call('HSET', KEYS[i], 't', '1', 'g', g)
	redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
return g
`)

// cacheBump raises the epoch of workers: every copy of theirs read before
// is stale from now on. O(1) per worker, whatever its number of sessions.
// KEYS: generations. ARGV: worker...
var cacheBump = newScript(luaGen + `
local g = bump(KEYS[1])
for i = 1, #ARGV do redis.call('HSET', KEYS[1], 'w:' .. ARGV[i], g) end
return g
`)

// cacheFlush raises the floor: every copy read before is stale. Worker
// epochs at or below the new floor no longer matter and are dropped.
// KEYS: generations.
var cacheFlush = newScript(luaGen + `
local g = bump(KEYS[1])
redis.call('HSET', KEYS[1], 'f', g)
local fields = redis.call('HKEYS', KEYS[1])
for i = 1, #fields do
	if string.sub(fields[i], 1, 2) == 'w:' then redis.call('HDEL', KEYS[1], fields[i]) end
end
return g
`)
