package demo_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// notice is one message of GET /api/events.
type notice struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// stream is an open GET /api/events, read in the background: its notices
// arrive on a channel, which closes when the node ends the stream.
type stream struct {
	t        *testing.T
	resp     *http.Response
	notices  chan notice
	comments chan string
	stop     func() // closes the stream, once
}

// close ends the stream from the client's side and waits for its reader.
func (s *stream) close() { s.stop() }

// openStream opens the client's event stream on node and waits for its
// headers, by which time the node has subscribed: every change from then
// on is reported. The stream is closed when the test ends.
func (c *client) openStream(node string) *stream {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", node+"/api/events", nil)
	require.NoError(c.t, err)
	req.Header.Set("User-Agent", c.ua)
	// c.http has a timeout for the whole exchange, which a stream outlives.
	resp, err := (&http.Client{Jar: c.jar, Transport: c.http.Transport}).Do(req)
	require.NoError(c.t, err)
	done := make(chan struct{})
	var once sync.Once
	s := &stream{t: c.t, resp: resp, notices: make(chan notice, 64), comments: make(chan string, 64),
		stop: func() {
			once.Do(func() {
				cancel()
				resp.Body.Close()
				<-done
			})
		}}
	c.t.Cleanup(s.stop)
	if resp.StatusCode != http.StatusOK {
		close(done)
		close(s.notices)
		return s
	}
	go func() {
		defer close(done)
		defer close(s.notices)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "data: "):
				var n notice
				if err := json.Unmarshal([]byte(line[len("data: "):]), &n); err != nil {
					c.t.Errorf("stream: bad data %q: %v", line, err)
					return
				}
				select {
				case s.notices <- n:
				case <-ctx.Done():
					return
				}
			case strings.HasPrefix(line, ":"):
				select {
				case s.comments <- strings.TrimSpace(line[1:]):
				default:
				}
			}
		}
	}()
	return s
}

// next returns the stream's next notice, failing after five seconds or
// when the stream ends.
func (s *stream) next() notice {
	s.t.Helper()
	select {
	case n, ok := <-s.notices:
		require.True(s.t, ok, "the stream ended")
		return n
	case <-time.After(5 * time.Second):
		s.t.Fatal("no notice within 5s")
		return notice{}
	}
}

// requireEnd waits for the node to end the stream, passing over notices.
func (s *stream) requireEnd() {
	s.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-s.notices:
			if !ok {
				return
			}
		case <-deadline:
			s.t.Fatal("the stream is still open after 5s")
		}
	}
}
