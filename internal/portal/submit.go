package portal

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/portal/calendar"
	"civitas/internal/registry"
	"civitas/internal/tally"
)

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Missing lists the keys of required inputs the application lacks.
func Missing(p Procedure, a Application) []string {
	var out []string
	for _, in := range p.Inputs {
		if !in.Required {
			continue
		}
		if in.Source == SourceUpload {
			if !slices.ContainsFunc(a.Uploads, func(u Upload) bool { return u.Input == in.Name }) {
				out = append(out, in.Key())
			}
			continue
		}
		if in.PartyOf() != PartySubject && in.Name != "citizen_id" {
			if _, ok := partyID(&a, in.PartyOf()); !ok {
				continue // the party's own citizen_id input says whether it is needed
			}
		}
		if v := lookup(a.Data, in.Key()); v == nil || v == "" {
			out = append(out, in.Key())
		}
	}
	return out
}

// FeeFor is the fee of an application and the exemption that waives it.
func (s *Service) FeeFor(p Procedure, a Application) (int64, string) {
	if p.Fee == 0 {
		return 0, ""
	}
	day := today(s.o.Clock.Now()).String()
	for _, e := range p.Exemptions {
		switch {
		case e.UnderAge > 0:
			born := a.Value("birth_date")
			if born == "" || a.Subject.Kind != SubjectPerson {
				continue
			}
			if ageOn(born, day) < e.UnderAge {
				return 0, e.Code
			}
		case e.Input != "":
			if a.Value(e.Input) == e.Equals {
				return 0, e.Code
			}
		}
	}
	return p.Fee, ""
}

// ageOn is the age in whole years on day of someone born on born.
func ageOn(born, day string) int {
	if len(born) != 10 || len(day) != 10 {
		return 1 << 20
	}
	var by, bm, bd, y, m, d int
	fmt.Sscanf(born, "%d-%d-%d", &by, &bm, &bd)
	fmt.Sscanf(day, "%d-%d-%d", &y, &m, &d)
	age := y - by
	if m < bm || m == bm && d < bd {
		age--
	}
	return age
}

// Declaration is what the applicant signs: the application's content, its
// files' digests, and the promise that it is true.
type Declaration struct {
	Application string            `json:"application"`
	Procedure   string            `json:"procedure"`
	Subject     string            `json:"subject"`
	Data        map[string]string `json:"data"`
	Files       []string          `json:"files"`
}

// DeclarationDigest is the SHA-256 of the declaration's canonical JSON.
func DeclarationDigest(a Application) []byte {
	d := Declaration{Application: a.ID, Procedure: a.Procedure, Subject: a.Subject.Kind + ":" + a.Subject.ID, Data: map[string]string{}}
	for k, v := range a.Data {
		switch x := v.(type) {
		case map[string]any:
			b, _ := json.Marshal(x)
			d.Data[k] = string(b)
		default:
			d.Data[k] = valueText(x)
		}
	}
	for _, u := range a.Uploads {
		d.Files = append(d.Files, u.Input+":"+u.SHA256)
	}
	sort.Strings(d.Files)
	b, _ := json.Marshal(d) // map keys are sorted
	sum := sha256.Sum256(b)
	return sum[:]
}

// SubmitRequest submits a draft.
type SubmitRequest struct {
	// ACR is the session's assurance: a procedure asking for a signature
	// needs level 2.
	ACR string
	// Code approves the signature of the declaration (the applicant's
	// one-time code), when the procedure asks for one.
	Code string
}

// Submit sends a complete draft to the agencies: the declaration signed
// where the procedure asks, the fee paid (or waived, or paid at the desk
// for an assisted application), the parts queued at the agencies serving
// the subject's commune, the promised return date counted in working days.
func (s *Service) Submit(ctx context.Context, id string, req SubmitRequest) (Application, error) {
	a, acc, err := s.draft(ctx, id)
	if err != nil {
		return Application{}, err
	}
	if !acc.edit {
		return Application{}, kernel.E(kernel.Forbidden, "portal.error.not_applicant")
	}
	if a.Status != StatusDraft {
		return Application{}, kernel.E(kernel.Conflict, "portal.error.not_draft")
	}
	p, ok := s.o.Catalogue.Procedure(a.Procedure)
	if !ok {
		return Application{}, kernel.E(kernel.NotFound, "portal.error.no_procedure")
	}
	if miss := Missing(p, a); len(miss) > 0 {
		return Application{}, kernel.E(kernel.Invalid, "portal.error.missing", strings.Join(miss, ", "))
	}
	fee, exempt := s.FeeFor(p, a)
	payState := a.PaymentState
	switch {
	case fee == 0:
		payState = PayNone
	case a.PaymentState == PayPaid:
	case a.Channel == ChannelCounter:
		payState = PayCounter
	default:
		return Application{}, kernel.E(kernel.Conflict, "portal.error.not_paid")
	}
	// The routing of every part, before the transaction.
	parts := p.AllParts()
	routed := make([]registry.Agency, len(parts))
	for i, pt := range parts {
		if routed[i], err = s.route(ctx, pt.Agency, a.Unit); err != nil {
			return Application{}, err
		}
	}
	var declaration string
	if p.Signature {
		if !kernel.AtLeastLevel2(req.ACR) {
			return Application{}, kernel.E(kernel.Forbidden, "portal.error.level2_to_sign")
		}
		if s.o.Signer == nil {
			return Application{}, kernel.E(kernel.Unavailable, "portal.error.no_signing")
		}
		if a.ApplicantAccount == "" || a.AssistedBy != "" {
			return Application{}, kernel.E(kernel.Forbidden, "portal.error.sign_own")
		}
		digest := DeclarationDigest(a)
		sig, err := s.o.Signer.SignDeclaration(ctx, a.ApplicantAccount, strings.TrimSpace(req.Code), "Tờ khai / Declaration "+a.ID, digest)
		if err != nil {
			return Application{}, err
		}
		b, _ := json.Marshal(map[string]string{"digest": base64.StdEncoding.EncodeToString(digest), "signature": base64.StdEncoding.EncodeToString(sig.Value),
			"certificate": base64.StdEncoding.EncodeToString(sig.Certificate), "credential": sig.CredentialID, "alg": "SHA-256"})
		declaration = string(b)
	}
	// One write, shared with concurrent submissions (group commit): all was
	// read before; the version in the UPDATE proves nothing changed since.
	cur := a
	err = s.o.DB.Batch(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		cur = a
		cur.Parts = nil
		day := today(tx.Now)
		cur.Status, cur.SubmittedAt = StatusSubmitted, tx.Now
		cur.Due = s.o.Calendar.AddWorkingDays(day, p.SLADays).String()
		cur.Fee, cur.FeeExempt, cur.PaymentState = fee, exempt, payState
		cur.Declaration = declaration
		cur.Paperless = len(cur.Uploads) == 0
		cur.Agency = routed[0].Code
		if err := updateApplication(ctx, tx, &cur); err != nil {
			return err
		}
		n, err := nextNumber(ctx, tx, "receipt:"+cur.Agency, day.Time(kernel.Zone()).Year())
		if err != nil {
			return err
		}
		cur.Receipt = fmt.Sprintf("%s-%s-%06d", cur.Agency, day.String()[:4], n)
		if _, err := tx.Exec(ctx, `UPDATE portal_applications SET receipt_number = ? WHERE id = ?`, cur.Receipt, cur.ID); err != nil {
			return kernel.Wrap(err, "portal: receipt")
		}
		for i, pt := range parts {
			status := PartQueued
			if len(pt.After) > 0 {
				status = PartWaiting
			}
			cp := CasePart{ApplicationID: cur.ID, Code: pt.Code, Index: i, Agency: routed[i].Code, Unit: cur.Unit, Status: status, Due: cur.Due}
			if err := insertPart(ctx, tx, &cp); err != nil {
				return err
			}
			cur.Parts = append(cur.Parts, cp)
		}
		if cur.Channel == ChannelCounter {
			tally.Add(ctx, tx, FigureSubmittedCounter, cur.Unit, 1)
		} else {
			tally.Add(ctx, tx, FigureSubmittedOnline, cur.Unit, 1)
		}
		if cur.Paperless {
			tally.Add(ctx, tx, FigurePaperless, cur.Unit, 1)
		}
		tally.Add(ctx, tx, FigureOpen, cur.Unit, 1)
		if err := insertEvent(ctx, tx, cur.ID, "submitted", "", map[string]any{"due": cur.Due, "receipt": cur.Receipt, "signed": declaration != ""}); err != nil {
			return err
		}
		if err := s.notify(ctx, tx, &cur, "portal.notice.submitted", cur.Due); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "portal.application.submit", SubjectType: "application", SubjectID: cur.ID,
			Purpose: "administrative_procedure", Details: map[string]any{"procedure": cur.Procedure, "channel": cur.Channel, "due": cur.Due,
				"receipt": cur.Receipt, "fee": cur.Fee, "exempt": cur.FeeExempt, "paperless": cur.Paperless, "signed": declaration != ""}})
	})
	if err != nil {
		return Application{}, err
	}
	return cur, nil
}

// draft reads an application with its uploads (what a submission needs),
// for an actor who may see it.
func (s *Service) draft(ctx context.Context, id string) (Application, access, error) {
	who, err := s.actor(ctx)
	if err != nil {
		return Application{}, access{}, err
	}
	var a Application
	if err := s.o.DB.View(ctx, func(tx *db.Tx) (err error) {
		if a, err = findApplication(ctx, tx, id); err != nil {
			return err
		}
		a.Uploads, err = findUploads(ctx, tx, id)
		return err
	}); err != nil {
		return Application{}, access{}, err
	}
	acc, err := s.accessTo(ctx, who, &a)
	return a, acc, err
}

// notify tells the applicant (if they have an account) of a change.
func (s *Service) notify(ctx context.Context, tx *db.Tx, a *Application, template string, args ...string) error {
	if s.o.Notifier == nil || a.ApplicantAccount == "" {
		return nil
	}
	return s.o.Notifier.Notify(ctx, tx, Notice{AccountID: a.ApplicantAccount, Template: template, Args: append([]string{a.Receipt}, args...)})
}

// Pay starts the payment of a draft's fee and returns what to show the
// payer; a payment started before is returned as it stands.
func (s *Service) Pay(ctx context.Context, id string) (Payment, error) {
	if s.o.Payments == nil {
		return Payment{}, kernel.E(kernel.Unavailable, "portal.error.no_payments")
	}
	a, acc, err := s.readable(ctx, id)
	if err != nil {
		return Payment{}, err
	}
	if !acc.edit || a.Channel != ChannelOnline {
		return Payment{}, kernel.E(kernel.Forbidden, "portal.error.not_applicant")
	}
	if a.Status != StatusDraft {
		return Payment{}, kernel.E(kernel.Conflict, "portal.error.not_draft")
	}
	p, _ := s.o.Catalogue.Procedure(a.Procedure)
	fee, _ := s.FeeFor(p, a)
	if fee == 0 {
		return Payment{}, kernel.E(kernel.Conflict, "portal.error.no_fee")
	}
	if a.PaymentRef != "" {
		pay, err := s.o.Payments.Status(ctx, a.PaymentRef)
		if err == nil && (pay.Status == PaymentPending || pay.Status == PaymentPaid) && pay.Amount == fee {
			if pay.Status == PaymentPaid && a.PaymentState != PayPaid {
				_, err = s.RefreshPayment(ctx, id)
			}
			return pay, err
		}
	}
	routed, err := s.route(ctx, p.AllParts()[0].Agency, a.Unit)
	if err != nil {
		return Payment{}, err
	}
	pay, err := s.o.Payments.Start(ctx, PaymentRequest{ApplicationID: a.ID, Procedure: a.Procedure, Agency: routed.Code, Amount: fee,
		Description: "Le phi " + a.Procedure + " " + a.ID[:8], PayerCitizen: a.ApplicantCitizen,
		ReturnURL: strings.TrimSuffix(s.o.PublicURL, "/") + "/portal/applications/" + a.ID + "/review"})
	if err != nil {
		return Payment{}, err
	}
	_, err = s.change(ctx, id, func(tx *db.Tx, _ applicant, _ Procedure, cur *Application) error {
		cur.PaymentRef, cur.PaymentState = pay.ID, PayPending
		if err := insertEvent(ctx, tx, cur.ID, "payment_started", "", map[string]any{"amount": fee}); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "portal.payment.start", SubjectType: "application", SubjectID: cur.ID,
			Details: map[string]any{"payment": pay.ID, "amount": fee}})
	})
	return pay, err
}

// RefreshPayment asks the payments capability how the application's
// payment stands and records a payment it reports paid in full.
func (s *Service) RefreshPayment(ctx context.Context, id string) (Application, error) {
	var ref string
	if err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		a, err := findApplication(ctx, tx, id)
		ref = a.PaymentRef
		return err
	}); err != nil {
		return Application{}, err
	}
	if s.o.Payments == nil || ref == "" {
		return s.Application(ctx, id)
	}
	pay, err := s.o.Payments.Status(ctx, ref)
	if err != nil {
		return Application{}, err
	}
	return s.PaymentChanged(ctx, id, pay)
}

// PaymentChanged records a payment of an application as the payments
// capability reports it (its callback, through app): paid only when the
// amount is the fee.
func (s *Service) PaymentChanged(ctx context.Context, id string, pay Payment) (Application, error) {
	var out Application
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		a, err := findApplication(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.PaymentRef != pay.ID {
			return kernel.E(kernel.Conflict, "portal.error.payment_mismatch")
		}
		state := a.PaymentState
		switch pay.Status {
		case PaymentPaid:
			if pay.Amount != a.Fee && a.Status == StatusDraft {
				p, _ := s.o.Catalogue.Procedure(a.Procedure)
				if fee, _ := s.FeeFor(p, a); pay.Amount != fee {
					return kernel.E(kernel.Conflict, "portal.error.payment_mismatch")
				}
			}
			state = PayPaid
		case PaymentRefunded:
			state = PayRefunded
		case PaymentFailed:
			if a.PaymentState == PayPending {
				state = PayDue
			}
		}
		if state == a.PaymentState {
			out = a
			return nil
		}
		a.PaymentState = state
		if err := insertEvent(ctx, tx, a.ID, "payment_"+state, "", nil); err != nil {
			return err
		}
		if err := audit.Queue(ctx, tx, audit.Entry{Action: "portal.payment." + state, SubjectType: "application", SubjectID: a.ID,
			Details: map[string]any{"payment": pay.ID, "amount": pay.Amount}}); err != nil {
			return err
		}
		if err := updateApplication(ctx, tx, &a); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, err
}

// Withdraw takes back an application not decided yet. The fee comes back
// when no agency had begun processing it.
func (s *Service) Withdraw(ctx context.Context, id string) (Application, error) {
	refund := false
	a, err := s.change(ctx, id, func(tx *db.Tx, _ applicant, _ Procedure, a *Application) error {
		switch a.Status {
		case StatusDraft:
		case StatusSubmitted, StatusReceived, StatusTransferred, StatusInfoRequested, StatusProcessing:
			for i := range a.Parts {
				pt := &a.Parts[i]
				if pt.Status == PartApproved || pt.Status == PartIssued {
					return kernel.E(kernel.Conflict, "portal.error.decided")
				}
			}
		default:
			return kernel.E(kernel.Conflict, "portal.error.decided")
		}
		began := false
		for i := range a.Parts {
			pt := &a.Parts[i]
			if pt.Status == PartProcessing || pt.Status == PartInfo {
				began = true
			}
			from := pt.Status
			pt.Status = PartCancelled
			if err := updatePart(ctx, tx, pt, from); err != nil {
				return err
			}
		}
		wasOpen := a.Status != StatusDraft
		a.Status, a.FinishedAt = StatusWithdrawn, tx.Now
		if wasOpen {
			tally.Add(ctx, tx, FigureOpen, a.Unit, -1)
			tally.Add(ctx, tx, FigureWithdrawn, a.Unit, 1)
		}
		refund = a.PaymentState == PayPaid && !began
		if err := insertEvent(ctx, tx, a.ID, "withdrawn", "", nil); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "portal.application.withdraw", SubjectType: "application", SubjectID: a.ID,
			Details: map[string]any{"refund": refund}})
	})
	if err == nil && refund {
		s.refund(ctx, a, "withdrawn")
	}
	return a, err
}

// refund gives the fee back and records it; a failure is logged and left
// for the payments' reconciliation.
func (s *Service) refund(ctx context.Context, a Application, reason string) {
	if s.o.Payments == nil || a.PaymentRef == "" {
		return
	}
	if err := s.o.Payments.Refund(ctx, a.PaymentRef, reason); err != nil {
		s.o.Logger.Warn("portal: refund failed", "application", a.ID, "error", err)
		return
	}
	ctx = kernel.WithActor(ctx, kernel.System("portal.refund"))
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		cur, err := findApplication(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		cur.PaymentState = PayRefunded
		if err := insertEvent(ctx, tx, a.ID, "refunded", "", map[string]any{"amount": cur.Fee}); err != nil {
			return err
		}
		if err := s.notify(ctx, tx, &cur, "portal.notice.refunded"); err != nil {
			return err
		}
		if err := audit.Queue(ctx, tx, audit.Entry{Action: "portal.payment.refund", SubjectType: "application", SubjectID: a.ID,
			Details: map[string]any{"amount": cur.Fee, "reason": reason}}); err != nil {
			return err
		}
		return updateApplication(ctx, tx, &cur)
	})
	if err != nil {
		s.o.Logger.Warn("portal: recording a refund failed", "application", a.ID, "error", err)
	}
}

// Respond is the applicant giving what an official requested: the fields
// (uploads come through AddUpload before), and a note. The part goes back
// to processing and the promised date moves by the working days waited.
func (s *Service) Respond(ctx context.Context, id string, fields map[string]string, note string) (Application, error) {
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > MaxNote || !utf8.ValidString(note) {
		return Application{}, kernel.E(kernel.Invalid, "portal.error.bad_note")
	}
	return s.change(ctx, id, func(tx *db.Tx, _ applicant, p Procedure, a *Application) error {
		if a.Status != StatusInfoRequested {
			return kernel.E(kernel.Conflict, "portal.error.nothing_requested")
		}
		if err := s.applyFields(p, a, fields, false); err != nil {
			return err
		}
		for _, key := range a.Requested {
			in, _ := p.Input(key)
			if in.Source == SourceForm && a.Value(key) == "" {
				return kernel.E(kernel.Invalid, "portal.error.missing", key)
			}
			if in.Source == SourceUpload && !slices.ContainsFunc(a.Uploads, func(u Upload) bool { return u.Input == key }) {
				return kernel.E(kernel.Invalid, "portal.error.missing", key)
			}
		}
		waited := 0
		if a.PausedOn != "" {
			from, _ := calendar.ParseDate(a.PausedOn)
			waited = s.o.Calendar.WorkingDaysBetween(from, today(tx.Now))
			due, _ := calendar.ParseDate(a.Due)
			if waited > 0 {
				a.Due = s.o.Calendar.AddWorkingDays(due, waited).String()
			}
		}
		a.PausedOn, a.Requested = "", nil
		for i := range a.Parts {
			pt := &a.Parts[i]
			if pt.Status == PartInfo {
				pt.Status, pt.Due = PartProcessing, a.Due
				if err := updatePart(ctx, tx, pt, PartInfo); err != nil {
					return err
				}
			} else if !partFinal(pt.Status) && pt.Due != a.Due {
				from := pt.Status
				pt.Due = a.Due
				if err := updatePart(ctx, tx, pt, from); err != nil {
					return err
				}
			}
		}
		a.Status = derivedStatus(a.Parts, a.Status)
		if err := insertEvent(ctx, tx, a.ID, "responded", "", map[string]any{"note": note, "waited_days": waited, "due": a.Due}); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "portal.application.respond", SubjectType: "application", SubjectID: a.ID,
			Details: map[string]any{"fields": len(fields), "waited_days": waited}})
	})
}
