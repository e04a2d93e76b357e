package pgsession_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pgsession/pgsession"
)

// Any string offered as a token is either the one token issued or "no
// session": never a panic, never another error, never a session that was not
// issued (DESIGN T2).
func FuzzGetToken(f *testing.F) {
	ctx := context.Background()
	m, err := pgsession.NewMemory(nil, testConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { m.Close(ctx) })
	s, err := m.Create(ctx, "", nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(s.Token())
	f.Add("")
	f.Add("not a token")
	f.Add(s.Token()[:42] + "=")
	f.Fuzz(func(t *testing.T, token string) {
		got, err := m.Get(ctx, token, pgsession.NoTouch())
		switch {
		case token == s.Token():
			if err != nil || got.ID() != s.ID() {
				t.Fatalf("issued token refused: %v", err)
			}
		case !errors.Is(err, pgsession.ErrNotFound):
			t.Fatalf("token %q: want ErrNotFound, got %v", token, err)
		}
	})
}

// ParseID accepts exactly what ID.String writes (hex in either case).
func FuzzParseID(f *testing.F) {
	f.Add("00")
	f.Add(pgsession.ID{1, 2, 3}.String())
	f.Fuzz(func(t *testing.T, s string) {
		id, err := pgsession.ParseID(s)
		if err == nil && id.String() != strings.ToLower(s) {
			t.Fatalf("ParseID(%q) = %s", s, id)
		}
	})
}
