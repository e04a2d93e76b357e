package httpsession_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
	"github.com/pgsession/pgsession/token"
)

// FuzzReadToken feeds the token parsing arbitrary Cookie and Authorization
// headers, and requests with one valid cookie among junk cookies of our
// name. It never panics, never verifies more than the bound (one header
// token and MaxTokenTries cookies), never returns a session but the one
// issued, and recognises the valid cookie whenever the token-length junk
// leaves room for it within the bound (and never beyond it).
func FuzzReadToken(f *testing.F) {
	m, err := pgsession.NewMemory(nil, testConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { m.Close(context.Background()) })
	mw, err := httpsession.New(httpsession.Config{Manager: m, Keys: ring(f, "k1"), Header: "Authorization"})
	if err != nil {
		f.Fatal(err)
	}
	var verified atomic.Int64
	httpsession.CountVerifications(mw, &verified)
	sum := sha256.Sum256([]byte("fuzz secret"))
	secret := base64.RawURLEncoding.EncodeToString(sum[:])
	valid, err := mw.Config().Keys.Encode(token.Claims{Secret: secret, Version: 7})
	if err != nil {
		f.Fatal(err)
	}
	name := cookieName(mw)
	tokenLike := strings.Repeat("A", token.MinLen)

	f.Add(name+"="+valid, "", uint8(0), uint8(0))
	f.Add(name+"=junk; "+name+"="+valid+"; other=1", "junk", uint8(3), uint8(1))
	f.Add(name+`="`+valid+`"`, `"quoted"`, uint8(2), uint8(2))
	f.Add(name+"="+valid+"; "+name+"="+valid, valid, uint8(4), uint8(0))
	f.Add(strings.Repeat(name+"="+tokenLike+"; ", 12)+name+"="+valid, tokenLike, uint8(7), uint8(7))
	f.Add(strings.Repeat(name+"=x;", 40), tokenLike, uint8(8), uint8(3))
	f.Add(name+"="+strings.Repeat("A", 5000), strings.Repeat("B", 5000), uint8(5), uint8(5))
	f.Add("Bearer "+valid, "", uint8(1), uint8(9))
	f.Add(";;; = ;"+name+"; =; "+name+"=;"+name+`="`, "\x00;\"=", uint8(15), uint8(200))

	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	f.Fuzz(func(t *testing.T, raw, junk string, copies, at uint8) {
		// Any header at all.
		r := &http.Request{Header: http.Header{"Cookie": {raw}, "Authorization": {raw}}}
		verified.Store(0)
		c, ok := httpsession.ReadToken(mw, r)
		if n := verified.Load(); n > httpsession.MaxTokenTries+1 {
			t.Fatalf("%d verifications", n)
		}
		if ok && c.Secret != secret {
			t.Fatalf("a session that was never issued: %q", c.Secret)
		}

		// The valid cookie among copies of one junk value (made of token
		// characters, so only its length decides whether it costs a try).
		b := []byte(junk[:min(len(junk), token.MaxLen+1)])
		for i := range b {
			b[i] = alphabet[b[i]%64]
		}
		n := int(copies % 16)
		pos := int(at) % (n + 1)
		pairs := make([]string, 0, n+1)
		for i := range n + 1 {
			if i == pos {
				pairs = append(pairs, name+"="+valid)
			}
			if i < n {
				pairs = append(pairs, name+"="+string(b))
			}
		}
		r = &http.Request{Header: http.Header{"Cookie": {strings.Join(pairs, "; ")}}}
		verified.Store(0)
		c, ok = httpsession.ReadToken(mw, r)
		candidates := 1
		if len(b) >= token.MinLen && len(b) <= token.MaxLen {
			candidates += n
		}
		switch {
		case verified.Load() > httpsession.MaxTokenTries:
			t.Fatalf("%d verifications", verified.Load())
		case candidates <= httpsession.MaxTokenTries && (!ok || c.Secret != secret):
			t.Fatalf("valid cookie at %d among %d junk %q not recognised", pos, n, b)
		case candidates > httpsession.MaxTokenTries && ok:
			t.Fatalf("%d candidates, more than the bound, gave a session", candidates)
		}
	})
}
