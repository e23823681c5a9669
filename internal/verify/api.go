package verify

import (
	"net/http"
	"time"

	"civitas/internal/pades"
	"civitas/internal/web"
)

// apiReport is the JSON answer of POST /api/verify/v1.
type apiReport struct {
	Verdict    pades.Verdict  `json:"verdict"` // TOTAL_PASSED, TOTAL_FAILED or INDETERMINATE
	Signatures []apiSignature `json:"signatures"`
}

type apiSignature struct {
	Field             string        `json:"field"`
	Signer            string        `json:"signer"`
	SigningTime       *time.Time    `json:"signing_time"` // null when unknown
	Timestamped       bool          `json:"timestamped"`
	Level             pades.Level   `json:"level"` // "" when no baseline level was reached
	Verdict           pades.Verdict `json:"verdict"`
	Revocation        string        `json:"revocation"` // good, revoked, unknown or not_checked
	DocumentTimestamp bool          `json:"document_timestamp"`
	Reasons           []apiReason   `json:"reasons"`
}

type apiReason struct {
	Key     string `json:"key"`
	Message string `json:"message"` // in the Accept-Language language
}

// verifyAPI checks the multipart field "file" (with "content" for a
// .p7s) or a raw application/pdf body. Errors are RFC 9457 problems.
func (s *service) verifyAPI(w http.ResponseWriter, r *http.Request) {
	u, err := s.receive(r, true)
	if err != nil {
		s.ws.Error(w, r, err)
		return
	}
	defer u.remove()
	// The slot is taken once the upload is in: a slow sender must not
	// hold one while it trickles its bytes.
	if !s.acquire(w, r) {
		return
	}
	defer s.release()
	rep, err := s.check(r.Context(), u)
	if err != nil {
		s.ws.Error(w, r, err)
		return
	}
	out := apiReport{Verdict: rep.Verdict, Signatures: make([]apiSignature, len(rep.Signatures))}
	for i, sig := range rep.Signatures {
		a := apiSignature{
			Field: sig.Field, Signer: sig.SignerName, Timestamped: sig.TimestampTime != nil, Level: sig.Level,
			Verdict: sig.Verdict, Revocation: sig.Revocation, DocumentTimestamp: sig.DocumentTimestamp,
			Reasons: make([]apiReason, len(sig.Reasons)),
		}
		if t := signingTime(sig); !t.IsZero() {
			t = t.UTC()
			a.SigningTime = &t
		}
		for j, key := range sig.Reasons {
			a.Reasons[j] = apiReason{Key: key, Message: s.ws.T(r, key)}
		}
		out.Signatures[i] = a
	}
	w.Header().Set("Content-Language", web.LangFrom(r.Context()))
	s.ws.JSON(w, r, http.StatusOK, out)
}
