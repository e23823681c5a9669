package wallet

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// Requester is who asks whether a person holds a document: an agency's
// system (an API client with the wallet.query scope), an official, or
// another capability in this process (the portal).
type Requester struct {
	Kind kernel.ActorKind // kernel.ActorClient, ActorOfficial or ActorSystem
	ID   string           // the client ID, the official's account ID, the capability's name
	// Agency is the public agency the requester acts for, or "" for anyone
	// else. Only a public agency is told what a document says.
	Agency string
}

// Query asks whether a person or an organisation holds a valid document
// of a type — so that a service need not ask them for paper — and, when
// its claims are needed, what it says.
type Query struct {
	// CitizenID names the person asked about, or RegNumber (the enterprise
	// code) the organisation: exactly one of the two.
	CitizenID string
	RegNumber string
	Type      string
	// Purpose says why the requester asks (3 to 200 characters); it is
	// recorded, audited and shown to the holder.
	Purpose string
	// Claims names the claims the requester needs, if any; nil asks only
	// whether the person holds the document.
	Claims    []string
	Requester Requester
}

// Holding is the answer to a Query.
type Holding struct {
	QueryID string // the record of the query, as the holder's history shows it
	Holds   bool   // a valid (not suspended, revoked or expired) document of the type
	// Agency and ExpiresAt say who issued the document and until when;
	// Claims are those asked for. All three only for a public agency.
	Agency    string
	ExpiresAt time.Time // zero: no expiry, or not told
	Claims    map[string]any
	// Withheld is set when claims were asked but the consent rule allowed
	// yes or no only.
	Withheld bool
}

// Answers of a query, as recorded.
const (
	queryAnswerYes = "yes"
	queryAnswerNo  = "no"
)

// checkQueryPurpose accepts a purpose of 3 to 200 printable characters.
func checkQueryPurpose(p string) (string, error) {
	p = strings.TrimSpace(p)
	n := utf8.RuneCountInString(p)
	if !utf8.ValidString(p) || n < 3 || n > 200 || strings.ContainsFunc(p, unicode.IsControl) {
		return "", kernel.E(kernel.Invalid, "walletapi.error.purpose")
	}
	return p, nil
}

// Holds answers whether the person holds a valid document of q.Type. It is
// what other capabilities ask instead of asking the citizen for paper.
//
// The consent rule: the answer says what the document says (the claims
// asked for, the issuing agency and the expiry) only when the requester is
// a public agency and the purpose is recorded; anyone else is told yes or
// no. Every query is recorded for the holder's history (who asked, why,
// what they were told) and audited as the requester's act, in one
// transaction.
func (s *Service) Holds(ctx context.Context, q Query) (Holding, error) {
	purpose, err := checkQueryPurpose(q.Purpose)
	if err != nil {
		return Holding{}, err
	}
	if q.Requester.Kind == "" || q.Requester.ID == "" {
		return Holding{}, kernel.E(kernel.Invalid, "walletapi.error.requester")
	}
	h, err := queriedHolder(q)
	if err != nil {
		return Holding{}, err
	}
	if q.Type == "" {
		return Holding{}, kernel.E(kernel.Invalid, "walletapi.error.no_type")
	}
	t, err := s.o.Catalogue.Type(q.Type)
	if err != nil {
		return Holding{}, err
	}
	if t.Holder != h.Kind {
		return Holding{}, kernel.E(kernel.Invalid, "wallet.error.wrong_holder")
	}
	var asked []string
	for _, c := range q.Claims {
		if !slices.ContainsFunc(t.Claims, func(spec ClaimSpec) bool { return spec.Name == c }) {
			return Holding{}, kernel.E(kernel.Invalid, "wallet.error.claim_unknown", c)
		}
		if !slices.Contains(asked, c) {
			asked = append(asked, c)
		}
	}
	now := s.o.Clock.Now()
	var docID, agency, stored string
	var expires int64
	err = s.o.DB.QueryRow(ctx, `SELECT id, agency, expires_at, sealed FROM wallet_documents
		WHERE holder_kind = ? AND holder_id = ? AND type = ? AND status = ? AND (expires_at = 0 OR expires_at > ?)
		ORDER BY issued_at DESC, id LIMIT 1`, h.Kind, h.ID, t.Code, StatusValid, kernel.Micros(now)).Scan(&docID, &agency, &expires, &stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Holding{}, kernel.Wrap(err, "wallet: query")
	}
	out := Holding{QueryID: kernel.NewID(), Holds: err == nil}
	tell := q.Requester.Agency != "" && purpose != ""
	var given []string
	if out.Holds && tell {
		out.Agency = agency
		if expires != 0 {
			out.ExpiresAt = kernel.FromMicros(expires)
		}
		if len(asked) > 0 {
			sd, err := s.openDocument(docID, stored)
			if err != nil {
				return Holding{}, err
			}
			out.Claims = map[string]any{}
			for _, c := range asked {
				if v, ok := sd.Claims[c]; ok {
					out.Claims[c] = v
					given = append(given, c)
				}
			}
		}
	}
	out.Withheld = out.Holds && !tell && len(asked) > 0
	answer := queryAnswerNo
	if out.Holds {
		answer = queryAnswerYes
	}
	if !tell {
		docID = "" // nor is which document it was kept for someone told yes or no only
	}
	actx := kernel.WithActor(ctx, kernel.Actor{Kind: q.Requester.Kind, ID: q.Requester.ID, OnBehalfOf: actingForAgency(q.Requester.Agency)})
	err = s.o.DB.Batch(actx, now, func(tx *db.Tx) error {
		if _, err := tx.Exec(actx, `INSERT INTO wallet_queries (id, holder_kind, holder_id, type, purpose, requester_kind, requester_id,
			requester_agency, answer, claims, document_id, asked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			out.QueryID, h.Kind, h.ID, t.Code, purpose, string(q.Requester.Kind), q.Requester.ID, q.Requester.Agency, answer,
			strings.Join(given, " "), docID, kernel.Micros(tx.Now)); err != nil {
			return kernel.Wrap(err, "wallet: record query")
		}
		// The holder queried is the subject: a person's citizen ID is what
		// the audit trail of reads of personal data is searched by.
		if err := audit.Queue(actx, tx, audit.Entry{Action: "wallet.query", SubjectType: h.Kind, SubjectID: h.ID, Purpose: purpose,
			Details: map[string]any{"query": out.QueryID, "type": t.Code, "answer": answer, "claims_asked": asked, "claims_given": given}}); err != nil {
			return err
		}
		if h.Kind != HolderPerson || s.o.UseLog == nil {
			return nil
		}
		// Whether the person holds the document is their data too, so
		// "holds" is a field given beside the claims.
		return s.o.UseLog.Record(actx, tx, kernel.DataUse{Subject: h.ID, Reader: kernel.ActorFrom(actx), Agency: q.Requester.Agency,
			Channel: "wallet.query", Service: t.Code, Fields: append([]string{"holds"}, given...), Purpose: purpose})
	})
	if err != nil {
		return Holding{}, err
	}
	return out, nil
}

// queriedHolder is the holder a query names: a person by a well-formed
// citizen ID or an organisation by its enterprise code, never both.
func queriedHolder(q Query) (Holder, error) {
	switch {
	case q.CitizenID != "" && q.RegNumber != "":
		return Holder{}, kernel.E(kernel.Invalid, "walletapi.error.one_holder")
	case q.RegNumber != "":
		if !registry.ValidRegNumber(q.RegNumber) {
			return Holder{}, kernel.E(kernel.Invalid, "error.registry.bad_reg_number")
		}
		return Holder{Kind: HolderOrganisation, ID: q.RegNumber}, nil
	}
	if _, err := registry.ParseCitizenID(q.CitizenID); err != nil {
		return Holder{}, err
	}
	return Holder{Kind: HolderPerson, ID: q.CitizenID}, nil
}

// actingForAgency names an agency as audit records say whom an actor acts for.
func actingForAgency(code string) string {
	if code == "" {
		return ""
	}
	return "agency:" + code
}

// QueryRecord is a query about a holder's documents, as their history
// shows it.
type QueryRecord struct {
	ID        string
	Type      string
	Purpose   string
	Requester Requester
	Answer    bool     // told yes
	Claims    []string // the names of the claims given
	AskedAt   time.Time
}

// QueriesAbout lists the queries about h's documents, newest first, at
// most limit (1 to 500). The caller has checked that whoever asks may act
// for h.
func (s *Service) QueriesAbout(ctx context.Context, h Holder, limit int) ([]QueryRecord, error) {
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	rows, err := s.o.DB.Query(ctx, `SELECT id, type, purpose, requester_kind, requester_id, requester_agency, answer, claims, asked_at
		FROM wallet_queries WHERE holder_kind = ? AND holder_id = ? ORDER BY asked_at DESC, id LIMIT ?`, h.Kind, h.ID, limit)
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: queries")
	}
	defer rows.Close()
	var out []QueryRecord
	for rows.Next() {
		var r QueryRecord
		var kind, answer, claims string
		var at int64
		if err := rows.Scan(&r.ID, &r.Type, &r.Purpose, &kind, &r.Requester.ID, &r.Requester.Agency, &answer, &claims, &at); err != nil {
			return nil, kernel.Wrap(err, "wallet: queries")
		}
		r.Requester.Kind, r.Answer, r.Claims, r.AskedAt = kernel.ActorKind(kind), answer == queryAnswerYes, strings.Fields(claims), kernel.FromMicros(at)
		out = append(out, r)
	}
	return out, kernel.Wrap(rows.Err(), "wallet: queries")
}
