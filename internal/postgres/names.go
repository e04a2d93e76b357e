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
}

// placeholder matches {{name}} in our SQL.
var placeholder = regexp.MustCompile(`\{\{([a-z_]+)\}\}`)

// NewNames validates schema and prefix (DESIGN I1). An empty prefix is allowed.
func NewNames(schema, prefix string) (*Names, error) {
	if err := checkIdentifier("schema", schema, false); err != nil {
		return nil, err
	}
	if err := checkIdentifier("table prefix", prefix, true); err != nil {
		return nil, err
	}
	n := &Names{Schema: schema, Prefix: prefix}
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

// Expand replaces {{name}} placeholders with quoted identifiers:
// {{schema}} is the schema; {{x_idx}} an index name, which takes its
// table's schema and must not be qualified; any other {{x}} the
// schema-qualified relation prefix+x (a table or a sequence).
func (n *Names) Expand(sql string) string {
	return placeholder.ReplaceAllStringFunc(sql, func(m string) string {
		name := m[2 : len(m)-2]
		switch {
		case name == "schema":
			return pgx.Identifier{n.Schema}.Sanitize()
		case name == "channel":
			return "'" + n.Channel() + "'" // hex and letters: nothing to escape
		case strings.HasSuffix(name, "_idx"):
			return pgx.Identifier{n.Prefix + name}.Sanitize()
		default:
			return n.Table(name)
		}
	})
}

// Table returns the quoted, schema-qualified name of one of our relations.
func (n *Names) Table(name string) string {
	return pgx.Identifier{n.Schema, n.Prefix + name}.Sanitize()
}

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
