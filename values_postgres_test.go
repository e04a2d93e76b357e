package pgsession_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// jsonbAccepts reports, for each text, whether PostgreSQL stores it as
// jsonb, in one round trip. The texts go as bytea, so that invalid UTF-8
// fails inside the function, where it is caught, and not on the wire. The
// function is temporary, in a transaction rolled back at the end: behind
// PgBouncer in transaction mode (make test-pgbouncer) only a transaction
// keeps its server connection, where pg_temp lives.
func jsonbAccepts(t *testing.T, texts [][]byte) []bool {
	ctx := ctxT(t)
	tx, err := pgsessiontest.AdminPool(t).Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(context.WithoutCancel(ctx))
	_, err = tx.Exec(ctx, `CREATE OR REPLACE FUNCTION pg_temp.jsonb_accepts(b bytea) RETURNS bool AS $$
		BEGIN
			PERFORM convert_from(b, 'UTF8')::jsonb;
			RETURN true;
		EXCEPTION WHEN data_exception THEN
			RETURN false;
		END $$ LANGUAGE plpgsql`)
	require.NoError(t, err)
	var ok []bool
	require.NoError(t, tx.QueryRow(ctx,
		`SELECT array_agg(pg_temp.jsonb_accepts(b) ORDER BY i) FROM unnest($1::bytea[]) WITH ORDINALITY AS u(b, i)`,
		texts).Scan(&ok))
	return ok
}

// The Manager refuses exactly the values PostgreSQL's jsonb refuses, on
// both backends: the test's lists of bad values and edge numbers, and random
// JSON made of the pieces where the two could disagree (escapes,
// surrogates, bytes that are not UTF-8, numbers at the edges of numeric's
// range). PostgreSQL's own verdict is asked directly, so the lists cannot
// drift from what it does.
func TestValueCheckAgreesWithPostgres(t *testing.T) {
	var texts [][]byte
	var names []string
	for name, v := range badValues {
		texts, names = append(texts, []byte(v)), append(names, "bad: "+name)
	}
	for _, v := range goodNumbers {
		texts, names = append(texts, []byte(v)), append(names, "good: "+v[:min(len(v), 20)])
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for len(texts) < 4000 {
		b := genJSON(rng, 0)
		if json.Valid(b) {
			texts, names = append(texts, b), append(names, "random")
		}
	}
	ok := jsonbAccepts(t, texts)
	for i, name := range names {
		switch {
		case strings.HasPrefix(name, "bad: "):
			require.False(t, ok[i], "PostgreSQL accepts %s", name)
		case strings.HasPrefix(name, "good: "):
			require.True(t, ok[i], "PostgreSQL refuses %s", name)
		}
	}

	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node(valuesConfig())
		s, err := m.Create(ctx, "", nil)
		require.NoError(t, err)
		for i, b := range texts {
			_, err := m.Update(ctx, s.ID(), new(pgsession.Patch).SetRaw("v", b))
			if ok[i] {
				require.NoError(t, err, "%s %.200q: PostgreSQL accepts it", names[i], b)
			} else {
				require.ErrorIs(t, err, pgsession.ErrInvalidValue, "%s %.200q: PostgreSQL refuses it", names[i], b)
			}
		}
	})
}

// genJSON returns a random JSON value, most of the time valid.
func genJSON(rng *rand.Rand, depth int) []byte {
	switch n := rng.IntN(10); {
	case n < 4 || depth > 2:
		return genString(rng)
	case n < 8:
		return []byte(genNumber(rng))
	case n == 8:
		return []byte("[" + string(genJSON(rng, depth+1)) + "," + string(genJSON(rng, depth+1)) + "]")
	default:
		return []byte("{" + string(genString(rng)) + ":" + string(genJSON(rng, depth+1)) + "}")
	}
}

func genString(rng *rand.Rand) []byte {
	pieces := []string{
		"a", "é", "\U00010000", `\u0000`, `\u0001`, `\ud800`, `\uDBFF`, `\udc00`, `\uDFFF`,
		`\ud800\udc00`, `\\`, `\\u0000`, `\"`, `\u0041`, `\uFFFF`, `\n`, `\/`, "u0000", `\u00`,
		"\xff", "\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82",
	}
	b := []byte{'"'}
	for range rng.IntN(4) {
		b = append(b, pieces[rng.IntN(len(pieces))]...)
	}
	return append(b, '"')
}

func genNumber(rng *rand.Rand) string {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	digits := func() string {
		n := pick("0", "1", "9", "00", "01", "10", "000", "0001", "123", "5000")
		return n
	}
	s := pick("", "-") + pick("0", "1", "9", "10", "12", "100", "9999")
	if rng.IntN(2) == 0 {
		s += "." + digits()
	}
	if rng.IntN(4) != 0 {
		exps := []int{0, 1, 4, 131068, 131069, 131070, 131071, 131072, 131073, 131074,
			-16380, -16381, -16382, -16383, -16384, -16385, -16386, 1073741822, 1073741823, -1073741822, -1073741823}
		e := exps[rng.IntN(len(exps))]
		es := strconv.Itoa(e)
		if rng.IntN(3) == 0 {
			es = strings.Replace(es, "-", "-000", 1)
			if e >= 0 {
				es = "00" + es
			}
		}
		if e >= 0 && rng.IntN(2) == 0 {
			es = "+" + es
		}
		s += pick("e", "E") + es
	}
	return s
}
