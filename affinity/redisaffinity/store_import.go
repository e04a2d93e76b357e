package redisaffinity

import (
	"context"
	"fmt"

	"github.com/pgsession/pgsession/affinity"
)

var _ affinity.Importer = (*Store)(nil)

// scriptImport writes a session with the caller's times, the one place a
// time not from Redis's clock is stored: it is judged against TIME (too far
// ahead, or already idle past the timeout: nothing written), and a live
// session is replaced only by a later last access. Like scriptSet, a live
// session on a worker other than the new one and the expected one is not
// changed: the reply names its worker for a retry.
// KEYS: session, new worker index, expected old worker index, workers.
// ARGV: member, worker, user, expected old worker, idle ms, created ms,
// last access ms, skew ms.
// Reply: {'future'}, {'expired'}, {'retry', worker} or
// {'created'|'updated'|'kept', w, u, v, c, la, pttl}.
var scriptImport = newScript(`
local ms, us = clock()
local idle = tonumber(ARGV[5])
local c, la = tonumber(ARGV[6]), tonumber(ARGV[7])
if la > ms + tonumber(ARGV[8]) then return {'future'} end
if la <= ms - idle then return {'expired'} end
local cur = redis.call('HMGET', KEYS[1], 'w', 'u', 'v', 'c', 'la')
local outcome, v = 'created', us
if cur[1] then
	if tonumber(cur[5]) >= la then
		return {'kept', cur[1], cur[2], cur[3], cur[4], cur[5], redis.call('PTTL', KEYS[1])}
	end
	if cur[1] ~= ARGV[2] and cur[1] ~= ARGV[4] then return {'retry', cur[1]} end
	if cur[1] ~= ARGV[2] then
		redis.call('ZREM', KEYS[3], ARGV[1])
		if redis.call('ZCARD', KEYS[3]) == 0 then redis.call('SREM', KEYS[4], cur[1]) end
	end
	outcome = 'updated'
	v = math.max(tonumber(cur[3]) + 1, us)
	c = math.min(c, tonumber(cur[4]))
end
local ttl = la + idle - ms
redis.call('HSET', KEYS[1], 'w', ARGV[2], 'u', ARGV[3], 'v', fmt(v), 'c', fmt(c), 'la', fmt(la))
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], fmt(la + idle), ARGV[1])
redis.call('SADD', KEYS[4], ARGV[2])
return {outcome, ARGV[2], ARGV[3], fmt(v), fmt(c), fmt(la), ttl}
`)

var importOutcomes = map[string]affinity.ImportOutcome{
	"created": affinity.ImportCreated,
	"updated": affinity.ImportUpdated,
	"kept":    affinity.ImportKept,
}

// Import writes an entry with its own times, kept to the millisecond; see
// affinity.Importer. One round trip, two when the session moves from
// another worker.
func (s *Store) Import(ctx context.Context, in affinity.ImportEntry) (affinity.Entry, affinity.ImportOutcome, error) {
	in, err := affinity.CheckImport(in)
	if err != nil {
		return affinity.Entry{}, 0, affinity.Op("import", err)
	}
	k := affinity.KeyOf(in.SessionID)
	expected := in.WorkerID
	for range maxRetries {
		res, err := s.run(ctx, scriptImport,
			[]string{s.keys.session(k), s.keys.worker(in.WorkerID), s.keys.worker(expected), s.keys.workers()},
			k.String(), in.WorkerID, in.UserSub, expected, s.idleMS,
			in.Created.UnixMilli(), in.LastAccess.UnixMilli(), affinity.ImportSkew.Milliseconds())
		if err != nil {
			return affinity.Entry{}, 0, affinity.Op("import", err)
		}
		status, f, err := reply(res)
		switch {
		case err != nil:
			return affinity.Entry{}, 0, affinity.Op("import", err)
		case status == "future":
			return affinity.Entry{}, 0, affinity.Op("import", fmt.Errorf(
				"%w: last access %v is more than %v ahead of Redis's clock",
				affinity.ErrInvalidArgument, in.LastAccess, affinity.ImportSkew))
		case status == "expired":
			return affinity.Entry{}, 0, affinity.Op("import", affinity.ErrExpired)
		case status == "retry" && len(f) == 1:
			expected, _ = f[0].(string)
			continue
		}
		outcome, ok := importOutcomes[status]
		if !ok {
			return affinity.Entry{}, 0, affinity.Op("import", fmt.Errorf("unexpected import status %q", status))
		}
		e, err := s.parseEntry(k, f)
		if err != nil {
			return affinity.Entry{}, 0, affinity.Op("import", err)
		}
		return e, outcome, nil
	}
	return affinity.Entry{}, 0, affinity.Op("import", errContended)
}
