package demo

import (
	"fmt"
	"net/http"
	"time"
)

// sseWriteTimeout bounds each write to an event stream. The server's
// WriteTimeout counts from the start of the request and would cut every
// stream after half a minute; a deadline per write instead drops only a
// client that stops reading.
const sseWriteTimeout = 10 * time.Second

// sseStream writes server-sent events (text/event-stream) to one client,
// each flushed at once: a message that waits in a buffer is no use to a
// page that wants to show it now.
type sseStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// startSSE sends the stream's headers, so the client knows at once that it
// is connected.
func startSSE(w http.ResponseWriter) (*sseStream, error) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	s := &sseStream{w: w, rc: http.NewResponseController(w)}
	return s, s.flush(func() error {
		w.WriteHeader(http.StatusOK)
		return nil
	})
}

// send writes one message whose data is a single line (JSON is).
func (s *sseStream) send(data []byte) error {
	return s.flush(func() error {
		_, err := fmt.Fprintf(s.w, "data: %s\n\n", data)
		return err
	})
}

// comment writes a line clients ignore: it keeps proxies and browsers from
// taking a quiet stream for a dead one, and finds out when the client has
// gone.
func (s *sseStream) comment(text string) error {
	return s.flush(func() error {
		_, err := fmt.Fprintf(s.w, ": %s\n\n", text)
		return err
	})
}

func (s *sseStream) flush(write func() error) error {
	if err := s.rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout)); err != nil {
		return err
	}
	if err := write(); err != nil {
		return err
	}
	return s.rc.Flush()
}
