package edoc

import (
	"context"
	"encoding/json"
	"io"
	"net/http"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// The paths of the peer listener (mutual TLS) the document exchange answers.
const (
	PeerEnvelopePath = "/edoc/envelopes"
	PeerStatusPath   = "/edoc/status"
)

// PeerHandlers returns the handlers for the peer listener: envelopes and
// status messages from other provinces. peerOf names the calling peer, as
// the listener authenticated it.
func (s *Service) PeerHandlers(peerOf func(context.Context) (string, bool)) (envelopes, status http.Handler) {
	envelopes = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, ok := peerOf(r.Context())
		if !ok || peer == "" {
			peerAnswer(w, kernel.E(kernel.Forbidden, "edoc.error.unknown_peer", ""))
			return
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, MaxEnvelope+1))
		if err != nil {
			peerAnswer(w, kernel.E(kernel.Invalid, "edoc.error.bad_envelope"))
			return
		}
		ctx := kernel.WithActor(r.Context(), kernel.System("edoc.peer:"+peer))
		_, err = s.Receive(ctx, peer, b)
		peerAnswer(w, err)
	})
	status = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, ok := peerOf(r.Context())
		if !ok || peer == "" {
			peerAnswer(w, kernel.E(kernel.Forbidden, "edoc.error.unknown_peer", ""))
			return
		}
		var m StatusMessage
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&m); err != nil {
			peerAnswer(w, kernel.E(kernel.Invalid, "edoc.error.bad_envelope"))
			return
		}
		peerAnswer(w, s.ReceiveStatus(r.Context(), peer, m))
	})
	return envelopes, status
}

func peerAnswer(w http.ResponseWriter, err error) {
	status := http.StatusNoContent
	switch kernel.ErrorCode(err) {
	case "":
	case kernel.Invalid:
		status = http.StatusBadRequest
	case kernel.Forbidden, kernel.Unauthenticated:
		status = http.StatusForbidden
	case kernel.Conflict:
		status = http.StatusConflict
	case kernel.NotFound:
		status = http.StatusNotFound
	default:
		status = http.StatusServiceUnavailable
	}
	if err == nil {
		w.WriteHeader(status)
		return
	}
	key, _ := kernel.ErrorKey(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": key})
}

// validStatus accepts the QCVN 102 codes civitas speaks.
func validStatus(code string) bool {
	switch code {
	case StatusArrived, StatusRefused, StatusRegistered, StatusAssigned, StatusProcessing, StatusCompleted,
		StatusRecallRequested, StatusRecallAgreed, StatusRecallRefused:
		return true
	}
	return false
}

// ReceiveStatus records a status message a peer sends about an envelope
// this installation sent it; a message sent twice is kept once.
func (s *Service) ReceiveStatus(ctx context.Context, peer string, m StatusMessage) error {
	if !validStatus(m.Code) || m.Seq <= 0 || !codeOK(m.Envelope) || !codeOK(m.Agency) || len(m.Note) > 500 {
		return kernel.E(kernel.Invalid, "edoc.error.bad_envelope")
	}
	if s.o.Peers == nil {
		return kernel.E(kernel.Forbidden, "edoc.error.unknown_peer", peer)
	}
	inst, err := s.o.Peers.Installation(ctx, peer)
	if err != nil {
		return kernel.E(kernel.Forbidden, "edoc.error.unknown_peer", peer)
	}
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM edoc_envelopes WHERE id = ? AND direction = 'out' AND to_peer = ? AND to_agency = ?`,
			m.Envelope, peer, m.Agency).Scan(&n); err != nil {
			return kernel.Wrap(err, "edoc: status envelope")
		}
		if n == 0 {
			return kernel.E(kernel.NotFound, "edoc.error.no_envelope")
		}
		_, err := tx.Exec(ctx, `INSERT INTO edoc_status (envelope_id, seq, code, at, peer, agency, note) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (envelope_id, seq) DO NOTHING`, m.Envelope, m.Seq, m.Code, micros(m.At), inst, m.Agency, m.Note)
		if err != nil {
			return kernel.Wrap(err, "edoc: status")
		}
		return nil
	})
}
