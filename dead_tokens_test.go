package pgsession_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// randomToken is a well-formed token no server issued.
func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// A token that names no live session (ended, expired or never issued)
// costs one database read per node, not one per request.
func TestDeadTokensCostOneReadEach(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	a := c.node(testConfig())
	b, rt := c.tracedNode(testConfig())
	notFound := func(token string, opts ...pgsession.GetOption) {
		t.Helper()
		_, err := b.Get(ctx, token, opts...)
		require.ErrorIs(t, err, pgsession.ErrNotFound)
	}

	ended, err := a.Create(ctx, "", nil)
	require.NoError(t, err)
	_, err = b.Get(ctx, ended.Token())
	require.NoError(t, err)
	require.NoError(t, a.Delete(ctx, ended.ID()))
	require.Eventually(t, func() bool {
		_, err := b.Get(ctx, ended.Token())
		return errors.Is(err, pgsession.ErrNotFound)
	}, within, time.Millisecond)
	rt.Reset()
	for range 200 {
		notFound(ended.Token())
	}
	require.Zero(t, rt.Count(), "a deletion b heard of: no read at all")

	never := randomToken()
	rt.Reset()
	for range 200 {
		notFound(never)
	}
	require.Equal(t, 1, rt.Count(), "a token never issued: one read")

	cfg := testConfig()
	cfg.Lifetime = 300 * time.Millisecond
	short := c.node(cfg)
	expiring, err := short.Create(ctx, "", nil)
	require.NoError(t, err)
	time.Sleep(2 * cfg.Lifetime)
	rt.Reset()
	for range 200 {
		notFound(expiring.Token())
	}
	require.Equal(t, 1, rt.Count(), "an expired session: one read")

	rt.Reset()
	notFound(never, pgsession.ForceRefresh())
	require.Equal(t, 1, rt.Count(), "ForceRefresh still asks the database")
	require.GreaterOrEqual(t, b.Stats().NotFoundHits, uint64(3*199))
}

// An ID remembered as gone on a node can be created there again only with
// CreateWithToken (a token the server made); the node then finds it.
func TestCreateWithTokenAfterNotFoundIsFound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(testConfig())
		tok := randomToken()
		_, err := m.Get(ctx, tok)
		require.ErrorIs(t, err, pgsession.ErrNotFound)
		_, err = m.CreateWithToken(ctx, tok, "", map[string]any{"k": 1})
		require.NoError(t, err)
		s, err := m.Get(ctx, tok)
		require.NoError(t, err)
		require.Equal(t, int64(1), s.Version())
	})
}

// BenchmarkDeadTokens counts the database statements per 1,000 Gets of
// tokens that name no live session: a few such tokens sent again and again
// (stale cookies, a bot replaying one), and tokens that are all different
// (random guesses: no memory can answer for a token it has never seen, so
// each costs its read; signed tokens, as httpsession uses, are refused by
// their signature with no read at all).
func BenchmarkDeadTokens(b *testing.B) {
	ctx := context.Background()
	b.Run("repeated", func(b *testing.B) { benchDeadTokens(b, ctx, false) })
	b.Run("all-different", func(b *testing.B) { benchDeadTokens(b, ctx, true) })
}

func benchDeadTokens(b *testing.B, ctx context.Context, fresh bool) {
	m, rt := benchTracedNode(b)
	tokens := make([]string, 10)
	for i := range tokens {
		s, err := m.Create(ctx, "", nil)
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = s.Token()
		if i%2 == 0 { // half ended sessions, half never issued
			if err := m.Delete(ctx, s.ID()); err != nil {
				b.Fatal(err)
			}
		} else {
			tokens[i] = randomToken()
		}
	}
	const requests = 1000
	rt.Reset()
	b.ResetTimer()
	for range b.N {
		for i := range requests {
			tok := tokens[i%len(tokens)]
			if fresh {
				tok = randomToken()
			}
			if _, err := m.Get(ctx, tok); !errors.Is(err, pgsession.ErrNotFound) {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(rt.Count())/float64(b.N), "statements/1000req")
}

// benchTracedNode is a PostgreSQL node of a schema of its own whose pool
// counts its statements (background ones left out).
func benchTracedNode(b *testing.B) (*pgsession.Manager, *pgsessiontest.RoundTrips) {
	rt := &pgsessiontest.RoundTrips{Skip: isBackground}
	cfg := testConfig()
	cfg.Schema = pgsessiontest.Schema(b)
	m, err := pgsession.New(context.Background(), pgsessiontest.Pool(b, rt), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close(context.Background()) })
	return m, rt
}

// A session can come back from expiry: an update that began before its
// deadline and waited on the row commits after it with a new lifetime. A
// node that read the session as not found in between serves it again
// within S_fault, not only after CacheMaxAge.
func TestRevivedSessionIsServedAgainWithinTheFaultBound(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c := newCluster(t, "postgres")
	a, b := c.node(testConfig()), c.node(testConfig())
	const life = 2 * time.Second
	s, err := a.Create(ctx, "", map[string]any{"k": 1}, pgsession.WithLifetime(life))
	require.NoError(t, err)
	deadline := time.Now().Add(life)
	_, err = b.Get(ctx, s.Token())
	require.NoError(t, err)

	time.Sleep(time.Until(deadline) - 700*time.Millisecond)
	release := holdRow(t, ctx, c.schema, s.ID())
	updated := make(chan error, 1)
	go func() {
		_, err := a.Update(ctx, s.ID(), new(pgsession.Patch).Set("k", 2), pgsession.SetLifetime(time.Hour))
		updated <- err
	}()
	time.Sleep(time.Until(deadline) + 300*time.Millisecond)
	_, err = b.Get(ctx, s.Token()) // past the old deadline, while the extension waits
	require.ErrorIs(t, err, pgsession.ErrNotFound)
	release()
	require.NoError(t, <-updated, "the extension began before the deadline, so it applies")

	revived := time.Now()
	require.Eventually(t, func() bool {
		_, err := b.Get(ctx, s.Token())
		return err == nil
	}, faultBound+time.Second, 10*time.Millisecond, "b keeps answering not found")
	t.Logf("b served the revived session %v after it came back", time.Since(revived))
}
