package privacy

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Correction statuses.
const (
	CorrectionOpen    = "open"
	CorrectionDone    = "done"
	CorrectionRefused = "refused"
)

// Correction is a person's request that an agency correct a record it
// holds about them, and the agency's answer.
type Correction struct {
	ID         string
	AccountID  string // who asked
	CitizenID  string // whose record
	UnitCode   string
	Section    string
	RecordKind string
	RecordID   string
	Agency     string
	Wrong      string // what is wrong, in the person's words
	Correct    string // what it should be
	Status     string
	Answer     string
	CreatedAt  time.Time
	DecidedAt  time.Time
	DecidedBy  string
}

// CorrectionRequest names a record of the person's export (theirs or a
// dependant's) and says what is wrong with it.
type CorrectionRequest struct {
	CitizenID  string
	Section    string
	RecordKind string
	RecordID   string
	Wrong      string
	Correct    string
}

// Limits of a request.
const (
	maxCorrectionText = 1000
	maxOpenRequests   = 20
)

func validText(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && utf8.ValidString(s) && utf8.RuneCountInString(s) <= maxCorrectionText && !strings.ContainsRune(s, 0)
}

// RequestCorrection records a correction request for the agency that holds
// the record. The record must be one of the person's own export (or a
// dependant's), so nobody asks about another's data or picks an agency
// that does not hold it; a record the person changes themselves has no
// agency and is refused.
func (s *Service) RequestCorrection(ctx context.Context, accountID string, in CorrectionRequest) (Correction, error) {
	if err := self(ctx, accountID); err != nil {
		return Correction{}, err
	}
	if !validText(in.Wrong) || !validText(in.Correct) {
		return Correction{}, kernel.E(kernel.Invalid, "privacy.error.correction_text", maxCorrectionText)
	}
	ex, err := s.Export(ctx, accountID)
	if err != nil {
		return Correction{}, err
	}
	var whose *PersonExport
	for _, p := range append([]PersonExport{ex.Person}, ex.Dependants...) {
		if p.CitizenID == in.CitizenID {
			whose = &p
			break
		}
	}
	if whose == nil {
		return Correction{}, kernel.E(kernel.NotFound, "privacy.error.no_record")
	}
	var rec *Record
	for _, sec := range whose.Sections {
		if sec.Name != in.Section {
			continue
		}
		for i := range sec.Records {
			if sec.Records[i].Kind == in.RecordKind && sec.Records[i].ID == in.RecordID {
				rec = &sec.Records[i]
			}
		}
	}
	if rec == nil {
		return Correction{}, kernel.E(kernel.NotFound, "privacy.error.no_record")
	}
	if rec.Agency == "" {
		return Correction{}, kernel.E(kernel.Invalid, "privacy.error.self_service")
	}
	unit := ""
	if me, err := s.o.Accounts.Subject(ctx, accountID); err == nil {
		unit = me.UnitCode
	}
	c := Correction{ID: kernel.NewID(), AccountID: accountID, CitizenID: in.CitizenID, UnitCode: unit, Section: in.Section,
		RecordKind: in.RecordKind, RecordID: in.RecordID, Agency: rec.Agency, Wrong: strings.TrimSpace(in.Wrong),
		Correct: strings.TrimSpace(in.Correct), Status: CorrectionOpen}
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		open, err := countOpenCorrections(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if open >= maxOpenRequests {
			return kernel.E(kernel.TooManyRequests, "privacy.error.too_many", maxOpenRequests)
		}
		c.CreatedAt = tx.Now
		if err := insertCorrection(ctx, tx, c); err != nil {
			return err
		}
		s.add(ctx, tx, FigureCorrectionsAsked, unit, 1)
		s.add(ctx, tx, FigureCorrectionsOpen, unit, 1)
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "privacy.correction.request", SubjectType: "person", SubjectID: c.CitizenID,
			Details: map[string]any{"correction": c.ID, "agency": c.Agency, "record": c.Section + "/" + c.RecordKind}})
		return err
	})
	if err != nil {
		return Correction{}, err
	}
	return c, nil
}

// MyCorrections lists the requests an account made, newest first.
func (s *Service) MyCorrections(ctx context.Context, accountID string) ([]Correction, error) {
	if err := self(ctx, accountID); err != nil {
		return nil, err
	}
	var out []Correction
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		out, err = findCorrectionsBy(ctx, tx, accountID)
		return err
	})
	return out, err
}

// official checks that the official holds a post at the agency.
func (s *Service) official(ctx context.Context, officialAccountID, agency string) (Post, error) {
	if s.o.Officials == nil {
		return Post{}, kernel.E(kernel.Forbidden, "privacy.error.not_official")
	}
	posts, err := s.o.Officials.Posts(ctx, officialAccountID)
	if err != nil {
		return Post{}, err
	}
	i := slices.IndexFunc(posts, func(p Post) bool { return p.AgencyCode == agency })
	if i < 0 {
		return Post{}, kernel.E(kernel.Forbidden, "privacy.error.not_official")
	}
	return posts[i], nil
}

// AgencyCorrections lists an agency's requests in a status, oldest first,
// after the page's key: an official of the agency reads them, and each
// read is a use of the person's data, logged.
func (s *Service) AgencyCorrections(ctx context.Context, officialAccountID, agency, status string, page kernel.Page) ([]Correction, error) {
	post, err := s.official(ctx, officialAccountID, agency)
	if err != nil {
		return nil, err
	}
	if status != CorrectionOpen && status != CorrectionDone && status != CorrectionRefused {
		status = CorrectionOpen
	}
	p := page.Normalize(50)
	var out []Correction
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		var err error
		if out, err = findAgencyCorrections(ctx, tx, agency, status, p.After, p.Limit); err != nil {
			return err
		}
		if s.o.UseLog == nil {
			return nil
		}
		for _, c := range out {
			if err := s.o.UseLog.Record(ctx, tx, kernel.DataUse{Subject: c.CitizenID, Agency: agency, ReaderName: post.AgencyName,
				Channel: "privacy.desk", Service: "correction", Fields: []string{c.Section + "/" + c.RecordKind}, Purpose: "correction", CaseRef: c.ID}); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// DecideCorrection closes an open request of the agency: done (the record
// was corrected at the source) or refused, with an answer the person
// reads. Audited; a request already decided is a Conflict.
func (s *Service) DecideCorrection(ctx context.Context, officialAccountID, agency, id, status, answer string) error {
	if _, err := s.official(ctx, officialAccountID, agency); err != nil {
		return err
	}
	if status != CorrectionDone && status != CorrectionRefused {
		return kernel.E(kernel.Invalid, "privacy.error.decision")
	}
	if !validText(answer) {
		return kernel.E(kernel.Invalid, "privacy.error.correction_text", maxCorrectionText)
	}
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		c, err := findCorrection(ctx, tx, id)
		if err != nil {
			return err
		}
		if c.Agency != agency {
			return kernel.E(kernel.NotFound, "privacy.error.no_correction")
		}
		ok, err := decideCorrection(ctx, tx, id, status, strings.TrimSpace(answer), officialAccountID)
		if err != nil {
			return err
		}
		if !ok {
			return kernel.E(kernel.Conflict, "privacy.error.decided")
		}
		s.add(ctx, tx, FigureCorrectionsOpen, c.UnitCode, -1)
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "privacy.correction.decide", SubjectType: "person", SubjectID: c.CitizenID,
			Details: map[string]any{"correction": id, "agency": agency, "status": status}})
		return err
	})
}

// Withdraw takes back a consent the person gave a relying party: it reads
// nothing more of them from now on (the provider audits the revocation).
func (s *Service) Withdraw(ctx context.Context, accountID, clientID string) error {
	if err := self(ctx, accountID); err != nil {
		return err
	}
	if s.o.Consents == nil {
		return kernel.E(kernel.Unavailable, "privacy.error.unavailable")
	}
	return s.o.Consents.Withdraw(ctx, accountID, clientID)
}
