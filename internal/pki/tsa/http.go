package tsa

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
)

var _ http.Handler = (*Authority)(nil)

// ServeHTTP is the RFC 3161 §3.4 transport: a POST of
// application/timestamp-query, answered 200 with application/timestamp-reply.
// Bad queries get a refusal in the reply, as the RFC wants, never a 500;
// only a wrong method or media type, which no RFC 3161 client sends, gets an
// HTTP error.
func (a *Authority) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/timestamp-query" {
		http.Error(w, "send application/timestamp-query", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
	var resp []byte
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		// The client speaks RFC 3161, so it reads a refusal better than a 413.
		resp = reject(tooLarge)
	case err != nil:
		http.Error(w, "could not read the query", http.StatusBadRequest)
		return
	default:
		resp = a.Respond(body)
	}
	h := w.Header()
	h.Set("Content-Type", "application/timestamp-reply")
	h.Set("Content-Length", strconv.Itoa(len(resp)))
	h.Set("Cache-Control", "no-store") // every reply is for one query only
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp)
}
