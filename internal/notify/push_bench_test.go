package notify_test

import (
	"testing"

	"github.com/pgsession/pgsession/internal/notify"
	"github.com/pgsession/pgsession/internal/store"
)

// BenchmarkDecodePush is what every listening node spends on a push of 8
// rows of five small attributes, whether or not it holds any of them.
//
//	go test -run '^$' -bench DecodePush ./internal/notify
func BenchmarkDecodePush(b *testing.B) {
	var recs []*store.Record
	for i := range 8 {
		r := row(byte(i), 9, `{"n": 1, "cart": "tea", "lang": "en", "user": "u1", "theme": "dark"}`)
		r.UserID, r.UserAgent = "user-1234", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/140.0"
		recs = append(recs, r)
	}
	p, ok := notify.EncodePush("node", recs, nil)
	if !ok {
		b.Fatal("does not fit")
	}
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := notify.Decode(p); err != nil {
			b.Fatal(err)
		}
	}
}
