package pgsession

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pgsession/pgsession/internal/store"
)

// Patch lists attribute changes for Manager.Update. Only the keys it names
// are written, so concurrent patches of different keys never undo each other
// (DESIGN W2). The zero value is an empty patch. Later calls for a key
// replace earlier ones.
type Patch struct {
	order []string
	ops   map[string]patchOp
	err   error
}

type patchOp struct {
	del bool
	raw json.RawMessage
	ttl time.Duration
}

// Set stores value (encoded as JSON) under key.
func (p *Patch) Set(key string, value any) *Patch { return p.SetTTL(key, value, 0) }

// SetTTL stores value under key for ttl (judged by the database clock); the
// attribute then disappears from every read. ttl <= 0 means no expiry.
func (p *Patch) SetTTL(key string, value any, ttl time.Duration) *Patch {
	raw, err := json.Marshal(value)
	if err != nil {
		if p.err == nil {
			p.err = fmt.Errorf("attribute %s: %w: %s", echo(key), ErrInvalidValue, errText(err))
		}
		return p
	}
	return p.put(key, patchOp{raw: raw, ttl: max(ttl, 0)})
}

// SetRaw stores an already encoded JSON value under key. The patch keeps a
// copy: the caller may reuse raw at once. Valid JSON that PostgreSQL's jsonb
// cannot store (invalid UTF-8, \u0000, a lone surrogate escape, a number
// outside numeric's range) is refused by Update with ErrInvalidValue, on
// every backend.
func (p *Patch) SetRaw(key string, raw json.RawMessage) *Patch {
	if !json.Valid(raw) {
		if p.err == nil {
			p.err = fmt.Errorf("attribute %s: %w: not valid JSON", echo(key), ErrInvalidValue)
		}
		return p
	}
	// A copy, because the value was validated here and is spliced into the
	// stored object as is: a buffer changed after this call could otherwise
	// smuggle in text that is not one JSON value (another key, say).
	return p.put(key, patchOp{raw: bytes.Clone(raw)})
}

// Delete removes key.
func (p *Patch) Delete(key string) *Patch { return p.put(key, patchOp{del: true}) }

// Err returns the first error met while building the patch (a value that
// could not be encoded); Update returns it too, and writes nothing.
func (p *Patch) Err() error { return p.err }

// Len returns how many keys the patch changes.
func (p *Patch) Len() int { return len(p.order) }

func (p *Patch) put(key string, op patchOp) *Patch {
	if p.ops == nil {
		p.ops = map[string]patchOp{}
	}
	if _, seen := p.ops[key]; !seen {
		p.order = append(p.order, key)
	}
	p.ops[key] = op
	return p
}

// build validates the patch against the limits and returns its store form.
func (p *Patch) build(l limits) (sets []store.AttrWrite, dels []string, err error) {
	if p.err != nil {
		return nil, nil, p.err
	}
	for _, k := range p.order {
		if err := l.checkKey(k); err != nil {
			return nil, nil, err
		}
		op := p.ops[k]
		if op.del {
			dels = append(dels, k)
			continue
		}
		if err := l.checkValue(k, op.raw); err != nil {
			return nil, nil, err
		}
		sets = append(sets, store.AttrWrite{Key: k, Raw: op.raw, TTL: op.ttl})
	}
	return sets, dels, nil
}

// keys returns the keys the patch writes, set or deleted, as a list of its
// own (never nil: an update event names what it wrote, even nothing).
func (p *Patch) keys() []string { return append([]string{}, p.order...) }
