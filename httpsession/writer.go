package httpsession

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// responseWriter saves the session and sets its headers before the first
// byte of the response goes out.
//
// It implements Flush and Hijack itself, so handlers that type-assert
// http.Flusher or http.Hijacker (or reach them through
// http.ResponseController) save the session first; ReadFrom keeps
// io.Copy's sendfile path. Everything else http.ResponseController offers
// (deadlines, full duplex) reaches the server's writer through Unwrap.
type responseWriter struct {
	http.ResponseWriter
	st *state
}

// WriteHeader saves the session, then writes the status line and headers.
// Informational (1xx) headers such as 103 Early Hints pass straight
// through: the final response is still to come.
func (w *responseWriter) WriteHeader(code int) {
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.st.beforeWrite()
	w.ResponseWriter.WriteHeader(code)
}

// Write saves the session before the first byte, then writes b.
func (w *responseWriter) Write(b []byte) (int, error) {
	w.st.beforeWrite()
	return w.ResponseWriter.Write(b)
}

// ReadFrom saves the session, then copies src to the server's writer
// (which may use sendfile).
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	w.st.beforeWrite()
	return io.Copy(w.ResponseWriter, src)
}

// FlushError saves the session, then flushes. http.ResponseController's
// Flush calls it.
func (w *responseWriter) FlushError() error {
	w.st.beforeWrite()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is FlushError for handlers that type-assert http.Flusher.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// Hijack saves the session, then hands over the connection. Changes after
// that are saved when the handler returns, and reported (the client's token
// can no longer be refreshed).
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.st.beforeWrite()
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the writer this one wraps, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
