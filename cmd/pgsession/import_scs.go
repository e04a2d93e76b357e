package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/gob"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession"
)

// pgsession import scs copies the live sessions of an scs postgresstore (or
// pgxstore) table into pgsession, each under its existing token and stored
// exactly as scsstore stores the sessions it creates: the scs data, as is,
// in one attribute ("scs" unless -attribute-key says otherwise) as a base64
// JSON string, the lifetime left until the row's expiry (by the database
// clock), and idle expiry off. An scs application switched to scsstore then
// finds every session it had, under the same cookie.
//
// It reads the table in batches ordered by token (keyset paging, token >
// the last one), and creates each session with one CreateWithToken: a
// session is written whole or not at all, and one already there (a rerun,
// or a session the switched application already created) is counted and
// left alone, so a rerun finishes what a failed run left.

// scsTokenSize is the length of an scs token: 32 random bytes in unpadded
// base64url (also the length of the hash scs stores with HashTokenInStore).
var scsTokenSize = base64.RawURLEncoding.EncodedLen(32)

// scsTokenOK reports whether token is one scsstore can use: exactly what
// scsstore's tokenID (and pgsession's CreateWithToken) accept.
func scsTokenOK(token string) bool {
	if len(token) != scsTokenSize {
		return false
	}
	var secret [32]byte
	n, err := base64.RawURLEncoding.Strict().Decode(secret[:], []byte(token))
	return err == nil && n == len(secret)
}

// scsTokenID is the pgsession session ID of an scs token (as pgsession
// derives it from a token: the SHA-256 of the 32 bytes it encodes).
func scsTokenID(token string) pgsession.ID {
	b, _ := base64.RawURLEncoding.Strict().DecodeString(token)
	return pgsession.ID(sha256.Sum256(b))
}

// scsData is what scs's default codec (scs.GobCodec) encodes.
type scsData struct {
	Deadline time.Time
	Values   map[string]any
}

// scsFrame is scsData without its values: decoding into it checks the
// stream's framing and skips the values without needing their types
// registered with gob (an application's own types are not, in this
// program).
type scsFrame struct {
	Deadline time.Time
}

// decodeSCS decodes data as scs.GobCodec.Decode does. values is nil, with a
// nil error, when the data is well formed but holds a type this program
// cannot decode (one the application registered with gob).
func decodeSCS(data []byte) (values map[string]any, err error) {
	var full scsData
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&full); err == nil {
		if full.Values == nil {
			full.Values = map[string]any{}
		}
		return full.Values, nil
	}
	var frame scsFrame
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&frame); err != nil {
		return nil, fmt.Errorf("data is not scs gob data: %w", err)
	}
	return nil, nil
}

// scsUserID returns the user ID held under key in values, by the rule
// scsstore binds sessions with (pgsession.UserIDOf); ok is false for a
// value that is not a valid user ID.
func scsUserID(values map[string]any, key string) (id string, ok bool) {
	id, err := pgsession.UserIDOf(values[key])
	return id, err == nil
}

// encodeSCSBlob returns b as scsstore stores it: a JSON string in standard
// base64 (as json.Marshal writes a []byte).
func encodeSCSBlob(b []byte) json.RawMessage {
	raw, _ := json.Marshal(b) // a []byte always marshals
	return raw
}

// importCounts is what an import did, for the summary.
type importCounts struct {
	read, imported, exists, expired, malformed, unbound int
}

// scsRow is one row of the scs table.
type scsRow struct {
	token string
	data  []byte
	live  bool
	left  time.Duration // until its expiry, by the database clock
}

const sqlSCSBatch = `SELECT token, data, expiry > now(), (extract(epoch FROM expiry - now()) * 1000000)::bigint
FROM %s WHERE token > $1 ORDER BY token LIMIT $2`

const sqlSCSCount = `SELECT count(*) FROM %s`

func (c *cli) importSCS(ctx context.Context, args []string) int {
	cmd := command{name: "import scs", synopsis: "[flags]",
		help: "Copies every live session of an scs postgresstore or pgxstore table (token,\n" +
			"data, expiry) into pgsession under its existing token, stored as scsstore\n" +
			"stores it, so an scs application switched to scsstore keeps its users logged\n" +
			"in. Rows are read in batches ordered by token; a session already in pgsession\n" +
			"is left as it is, so a rerun finishes what an interrupted run left. A row\n" +
			"whose token scsstore cannot use or whose data is not scs's gob encoding is\n" +
			"reported and skipped. -timeout bounds each batch, not the whole import. The\n" +
			"scs table must be in the same database as pgsession's."}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	d := addDBFlags(fs, true)
	table := fs.String("table", "sessions", "the scs `table`")
	fromSchema := fs.String("from-schema", "public", "the `schema` of the scs table")
	imp := addImportFlags(fs)
	userKey := fs.String("user-key", "", "the scs data `key` holding the user ID: bind each session to that user\n(a string or an integer; none or empty leaves the session anonymous)")
	attrKey := fs.String("attribute-key", "scs", "the pgsession attribute holding scs's data, as scsstore.WithAttributeKey")
	maxAttr := fs.Int("max-attribute-size", 64<<10, "the application's Config.MaxAttributeSize, in `bytes`")
	if _, code, ok := c.parse(cmd, fs, args); !ok {
		return code
	}
	switch {
	case imp.problem() != "":
		return c.usageFail(cmd.name, "%s", imp.problem())
	case *table == "" || *fromSchema == "":
		return c.usageFail(cmd.name, "-table and -from-schema must not be empty")
	case *attrKey == "":
		return c.usageFail(cmd.name, "-attribute-key must not be empty")
	case *maxAttr < 0:
		return c.usageFail(cmd.name, "-max-attribute-size must not be negative")
	}
	src := pgx.Identifier{*fromSchema, *table}.Sanitize()

	openCtx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	pool, err := c.openPool(openCtx, d)
	if err != nil {
		return c.fail(cmd.name, err)
	}
	defer pool.Close()
	if err := checkSchema(openCtx, pool, d); err != nil {
		return c.fail(cmd.name, err)
	}
	cfg := d.config()
	cfg.ManualMigrations = true
	cfg.TouchInterval, cfg.SweepInterval, cfg.CacheSize = -1, -1, -1
	cfg.MaxAttributeSize = *maxAttr
	cfg.Logger = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	m, err := pgsession.New(openCtx, pool, cfg)
	if err != nil {
		return c.fail(cmd.name, err)
	}
	defer closeManager(ctx, m)

	var total int64
	if err := pool.QueryRow(openCtx, fmt.Sprintf(sqlSCSCount, src)).Scan(&total); err != nil {
		return c.fail(cmd.name, fmt.Errorf("read %s.%s: %w", forTerminal(*fromSchema), forTerminal(*table), err))
	}
	cancel()

	progress := newImportProgress(c.stderr, total)
	var n importCounts
	skip := c.rowSkipper(cmd.name, progress, &n.malformed, func(token string) string { return forTerminal(clip(token, 12)) })
	verb := "imported"
	if *imp.dryRun {
		verb = "would import"
	}
	summary := func() {
		progress.clear()
		fmt.Fprintf(c.stdout, "%s.%s into %s: read %d, %s %d, already there %d, expired skipped %d, malformed skipped %d\n",
			forTerminal(*fromSchema), forTerminal(*table), d.where(), n.read, verb, n.imported, n.exists, n.expired, n.malformed)
		if n.unbound > 0 {
			c.note(cmd.name, "%d session(s) were %s without a user: their %q value was not a valid user ID (a string of at most 256 bytes, or an integer), or could not be decoded here",
				n.unbound, verb, *userKey)
		}
	}

	last := ""
	for {
		bctx, cancel := context.WithTimeout(ctx, d.timeout)
		rows, err := readSCSBatch(bctx, pool, src, last, *imp.batch)
		if err != nil {
			cancel()
			summary()
			return c.fail(cmd.name, fmt.Errorf("read %s.%s: %w", forTerminal(*fromSchema), forTerminal(*table), err))
		}
		for _, r := range rows {
			n.read++
			if !r.live {
				n.expired++
				continue
			}
			if !scsTokenOK(r.token) {
				skip(r.token, "not an scs token (43 characters of base64url)")
				continue
			}
			values, err := decodeSCS(r.data)
			if err != nil {
				skip(r.token, "%v", err)
				continue
			}
			raw := encodeSCSBlob(r.data)
			if *maxAttr > 0 && len(raw) > *maxAttr {
				skip(r.token, "data too large: %d bytes base64 encoded, over -max-attribute-size %d", len(raw), *maxAttr)
				continue
			}
			user := ""
			if *userKey != "" {
				var ok bool
				if values != nil {
					user, ok = scsUserID(values, *userKey)
				}
				if !ok {
					n.unbound++
				}
			}
			if *imp.dryRun {
				_, err := m.GetByID(bctx, scsTokenID(r.token), pgsession.NoTouch())
				switch {
				case err == nil:
					n.exists++
				case errors.Is(err, pgsession.ErrNotFound):
					n.imported++
				default:
					cancel()
					summary()
					return c.fail(cmd.name, err)
				}
				continue
			}
			_, err = m.CreateWithToken(bctx, r.token, user, map[string]any{*attrKey: raw},
				pgsession.WithLifetime(r.left), pgsession.WithIdleTimeout(-1))
			switch {
			case err == nil:
				n.imported++
			case errors.Is(err, pgsession.ErrSessionExists):
				n.exists++
			case errors.Is(err, pgsession.ErrAttributeTooLarge), errors.Is(err, pgsession.ErrInvalidValue):
				skip(r.token, "%v", err)
			default:
				cancel()
				summary()
				return c.fail(cmd.name, err)
			}
		}
		cancel()
		progress.show(n)
		if len(rows) < *imp.batch {
			break
		}
		last = rows[len(rows)-1].token
	}
	summary()
	return exitOK
}

// readSCSBatch reads up to limit rows with tokens after last, in order.
func readSCSBatch(ctx context.Context, pool *pgxpool.Pool, src, last string, limit int) ([]scsRow, error) {
	rows, err := pool.Query(ctx, fmt.Sprintf(sqlSCSBatch, src), last, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (scsRow, error) {
		var r scsRow
		var micros int64
		err := row.Scan(&r.token, &r.data, &r.live, &micros)
		r.left = time.Duration(micros) * time.Microsecond
		if r.left <= 0 {
			r.live = false
		}
		return r, err
	})
}
