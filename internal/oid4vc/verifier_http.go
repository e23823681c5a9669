package oid4vc

import (
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

// MountVerifier serves the verifier: POST /oid4vp/requests makes a
// presentation request (JSON PresentationQuery) and answers with its link
// and read token; POST /oid4vp/response/{id} takes the wallet app's
// response (direct_post); GET /oid4vp/requests/{id}, with the read token as
// a bearer token, gives the verdict. None takes a session: the read token
// is the whole authority over a request's result.
func (s *Service) MountVerifier(ws *web.Server) {
	ws.ExemptFromCSRF("/oid4vp/")
	ws.HandleFunc("POST "+VPRequestsPath, func(w http.ResponseWriter, r *http.Request) {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			ws.Error(w, r, kernel.E(kernel.Invalid, "oid4vc.error.json"))
			return
		}
		var q PresentationQuery
		if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
			ws.Error(w, r, kernel.E(kernel.Invalid, "oid4vc.error.json").WithCause(err))
			return
		}
		req, err := s.RequestPresentation(r.Context(), q)
		if err != nil {
			ws.Error(w, r, err)
			return
		}
		ws.JSON(w, r, http.StatusCreated, req)
	})
	ws.HandleFunc("GET "+VPRequestsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			tok = ""
		}
		res, err := s.PresentationResult(r.Context(), r.PathValue("id"), strings.TrimSpace(tok))
		if err != nil {
			ws.Error(w, r, err)
			return
		}
		ws.JSON(w, r, http.StatusOK, res)
	})
	ws.HandleFunc("POST "+VPResponsePath+"{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			s.protocolError(ws, w, r, perr(400, "invalid_request", "the body must be application/x-www-form-urlencoded"))
			return
		}
		if e := r.PostForm.Get("error"); e != "" {
			// The wallet app or its user declined: nothing to record.
			ws.JSON(w, r, http.StatusOK, map[string]any{})
			return
		}
		err := s.ReceivePresentation(r.Context(), r.PathValue("id"), r.PostForm.Get("vp_token"), r.PostForm.Get("state"))
		if err != nil {
			s.protocolError(ws, w, r, err)
			return
		}
		ws.JSON(w, r, http.StatusOK, map[string]any{})
	})
}
