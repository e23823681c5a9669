package pki

import (
	"net/http"
	"strconv"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

// mountCheckpoints publishes the audit log's signed checkpoints, for
// anyone and without a session, so that witnesses outside the province (a
// second province, an operator's job) keep copies: then deleting the
// newest records and setting the head back no longer goes unseen, since a
// witness holds a seal over them (civitas audit verify --witness).
//
//	GET /audit/checkpoints/latest                the newest checkpoint (404 before the first)
//	GET /audit/checkpoints?after=N&limit=L       those sealing more than N records, oldest first
//
// A checkpoint is Published's JSON; a page is CheckpointPage's, whose next
// is the following page while the page is full.
func (s *Service) mountCheckpoints(ws *web.Server) {
	ws.HandleFunc("GET /audit/checkpoints/latest", func(w http.ResponseWriter, r *http.Request) {
		cp, err := s.LatestCheckpoint(r.Context())
		if err != nil {
			ws.Error(w, r, err)
			return
		}
		ws.JSON(w, r, http.StatusOK, cp.Published())
	})
	ws.HandleFunc("GET /audit/checkpoints", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		after, limit, err := checkpointPage(q.Get("after"), q.Get("limit"))
		if err != nil {
			ws.Error(w, r, err)
			return
		}
		cps, err := s.Checkpoints(r.Context(), after, limit)
		if err != nil {
			ws.Error(w, r, err)
			return
		}
		page := CheckpointPage{Checkpoints: make([]Published, 0, len(cps))}
		for _, cp := range cps {
			page.Checkpoints = append(page.Checkpoints, cp.Published())
		}
		if len(cps) == limit {
			page.Next = "/audit/checkpoints?after=" + strconv.FormatInt(cps[len(cps)-1].Seq, 10) + "&limit=" + strconv.Itoa(limit)
		}
		ws.JSON(w, r, http.StatusOK, page)
	})
}

// checkpointPage reads the query of GET /audit/checkpoints: after a record
// count (default 0), at most limit checkpoints (default 100, at most 1,000).
func checkpointPage(afterQ, limitQ string) (after int64, limit int, err error) {
	bad := kernel.E(kernel.Invalid, "pki.error.bad_checkpoint_page", kernel.MaxPageLimit)
	limit = 100
	if afterQ != "" {
		if after, err = strconv.ParseInt(afterQ, 10, 64); err != nil || after < 0 {
			return 0, 0, bad
		}
	}
	if limitQ != "" {
		if limit, err = strconv.Atoi(limitQ); err != nil || limit < 1 || limit > kernel.MaxPageLimit {
			return 0, 0, bad
		}
	}
	return after, limit, nil
}
