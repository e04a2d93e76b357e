package postgres

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// MaxIdentifierLength leaves room under PostgreSQL's 63-byte limit for the
// longest table or index name built from a prefix.
const MaxIdentifierLength = 40

var identifierPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// ErrInvalidIdentifier reports a schema name or table prefix that is not a
// plain lower-case SQL identifier.
var ErrInvalidIdentifier = errors.New("invalid identifier")

// Names holds every identifier the library puts into SQL, validated once and
// quoted with pgx.Identifier, so no value is ever concatenated into a query.
type Names struct {
	Schema string
	Prefix string
	// lockClass separates this deployment's advisory locks from others in the
	// same database.
	lockClass int32
	replacer  *strings.Replacer
	tables    map[string]string
}

// NewNames validates schema and prefix (DESIGN I1). An empty prefix is allowed.
func NewNames(schema, prefix string) (*Names, error) {
	if err := checkIdentifier("schema", schema, false); err != nil {
		return nil, err
	}
	if err := checkIdentifier("table prefix", prefix, true); err != nil {
		return nil, err
	}
	n := &Names{Schema: schema, Prefix: prefix, tables: map[string]string{}}
	pairs := []string{"{{schema}}", pgx.Identifier{schema}.Sanitize()}
	for _, t := range []string{"sessions", "maintenance", "migrations"} {
		q := pgx.Identifier{schema, prefix + t}.Sanitize()
		n.tables[t] = q
		pairs = append(pairs, "{{"+t+"}}", q)
	}
	// Index names take the table's schema implicitly and must not be qualified.
	for _, idx := range []string{"sessions_user_idx"} {
		pairs = append(pairs, "{{"+idx+"}}", pgx.Identifier{prefix + idx}.Sanitize())
	}
	n.replacer = strings.NewReplacer(pairs...)
	h := fnv.New32a()
	h.Write([]byte(schema + "." + prefix))
	n.lockClass = int32(h.Sum32())
	return n, nil
}

func checkIdentifier(what, s string, emptyOK bool) error {
	if s == "" && emptyOK {
		return nil
	}
	if len(s) > MaxIdentifierLength || !identifierPattern.MatchString(s) {
		return fmt.Errorf("%w: %s %q must match [a-z_][a-z0-9_]* and be at most %d bytes",
			ErrInvalidIdentifier, what, s, MaxIdentifierLength)
	}
	return nil
}

// Expand replaces {{name}} placeholders with quoted identifiers.
func (n *Names) Expand(sql string) string { return n.replacer.Replace(sql) }

// Table returns the quoted, schema-qualified name of one of our tables.
func (n *Names) Table(name string) string { return n.tables[name] }

// Channel is the LISTEN/NOTIFY channel of this deployment. It is derived
// from schema and prefix, so deployments in different schemas of one
// database never share invalidations (DESIGN L2), and it stays under
// PostgreSQL's 63-byte identifier limit whatever their length.
func (n *Names) Channel() string {
	sum := sha256.Sum256([]byte(n.Schema + "." + n.Prefix))
	return "pgsession_" + hex.EncodeToString(sum[:8])
}

// LockClass is the first key of this deployment's two-key advisory locks.
func (n *Names) LockClass() int32 { return n.lockClass }
