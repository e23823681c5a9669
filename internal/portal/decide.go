package portal

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

func parseInt(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
func formatInt(n int64) string         { return strconv.FormatInt(n, 10) }

// DecideRequest is an official's decision on a part.
type DecideRequest struct {
	Agency  string
	ID      string
	Part    string
	Approve bool
	Reason  string            // why refused (required then)
	Fields  map[string]string // the part's decision fields
	// ACR is the official's session: a decision needs level 2.
	ACR string
	// Code approves the official's signature of the result (their
	// one-time code).
	Code string
	Lang string // of the result's PDF labels besides Vietnamese
}

// Decide approves or refuses a part, by an official of its agency holding
// a deciding role, in a level-2 session. An approval makes the part's
// registry change in its transaction and queues the parts after it; then
// the result is issued into the holder's wallet and signed (IssueResult).
// A refusal gives reasons; it ends the application, and the fee comes back
// when no part had begun processing.
func (s *Service) Decide(ctx context.Context, req DecideRequest) (Application, error) {
	if !kernel.AtLeastLevel2(req.ACR) {
		return Application{}, kernel.E(kernel.Forbidden, "portal.error.level2")
	}
	req.Reason = strings.TrimSpace(req.Reason)
	if !req.Approve && (req.Reason == "" || utf8.RuneCountInString(req.Reason) > MaxNote || !utf8.ValidString(req.Reason)) {
		return Application{}, kernel.E(kernel.Invalid, "portal.error.reason_required")
	}
	var pd Part
	var prev Application
	if err := s.o.DB.View(ctx, func(tx *db.Tx) (err error) {
		prev, err = findApplication(ctx, tx, req.ID)
		return err
	}); err != nil {
		return Application{}, err
	}
	p, ok := s.o.Catalogue.Procedure(prev.Procedure)
	if !ok {
		return Application{}, kernel.E(kernel.NotFound, "portal.error.no_procedure")
	}
	if pd, ok = p.Part(req.Part); !ok {
		return Application{}, errNoApplication()
	}
	if _, err := s.deskActor(ctx, req.Agency, pd.DecideRoles()); err != nil {
		return Application{}, err
	}
	fields := map[string]string{}
	if req.Approve {
		for _, f := range pd.DecisionFields {
			v := strings.TrimSpace(req.Fields[f.Name])
			if v == "" {
				if f.Required {
					return Application{}, kernel.E(kernel.Invalid, "portal.error.missing", f.Name)
				}
				continue
			}
			if err := checkValue(f, v); err != nil {
				return Application{}, err
			}
			fields[f.Name] = v
		}
		if pd.Result != "" {
			if s.o.Signer == nil {
				return Application{}, kernel.E(kernel.Unavailable, "portal.error.no_signing")
			}
			off := kernel.ActorFrom(ctx).ID
			if err := s.o.Signer.CanSignResult(ctx, off, req.Agency); err != nil {
				return Application{}, err
			}
			if strings.TrimSpace(req.Code) == "" {
				return Application{}, kernel.E(kernel.Invalid, "portal.error.code_required")
			}
		}
	}
	refund := false
	created := ""
	a, err := s.deskChange(ctx, req.Agency, req.ID, req.Part, pd.DecideRoles(), func(tx *db.Tx, off official, p Procedure, pd Part, a *Application, cp *CasePart) error {
		if cp.Status != PartReceived && cp.Status != PartProcessing {
			return kernel.E(kernel.Conflict, "portal.error.wrong_state")
		}
		from := cp.Status
		cp.DecidedBy, cp.DecidedAt, cp.Decision = off.account.ID, tx.Now, fields
		if !req.Approve {
			began := false
			for _, o := range a.Parts {
				began = began || o.Status == PartProcessing || o.Status == PartApproved || o.Status == PartIssued
			}
			cp.Status, cp.Reason = PartRefused, req.Reason
			if err := updatePart(ctx, tx, cp, from); err != nil {
				return err
			}
			for i := range a.Parts {
				o := &a.Parts[i]
				if o.Code != cp.Code && !partFinal(o.Status) && o.Status != PartApproved {
					of := o.Status
					o.Status = PartCancelled
					if err := updatePart(ctx, tx, o, of); err != nil {
						return err
					}
				}
			}
			a.Reason = req.Reason
			a.Status = StatusRefused
			refund = a.PaymentState == PayPaid && !began
			if err := insertEvent(ctx, tx, a.ID, "refused", cp.Code, map[string]any{"reason": req.Reason, "agency": cp.Agency}); err != nil {
				return err
			}
			if err := s.auditDesk(ctx, tx, "portal.part.refuse", a, cp, map[string]any{"role": string(off.post.Role)}); err != nil {
				return err
			}
			return s.finish(ctx, tx, a)
		}
		ag, err := s.o.Registry.Agency(ctx, cp.Agency)
		if err != nil {
			return err
		}
		outputs, beneficiary, err := s.applyEffect(ctx, tx, effectInput{reg: s.o.Registry, p: p, part: pd, app: a, fields: fields, agency: ag})
		if err != nil {
			return err
		}
		year := today(tx.Now).String()[:4]
		n, err := nextNumber(ctx, tx, "result:"+cp.Agency, int(mustAtoi(year)))
		if err != nil {
			return err
		}
		if _, ok := outputs["document_number"]; !ok {
			outputs["document_number"] = fmt.Sprintf("%d/%s/%s", n, year, cp.Agency)
		}
		outputs["decided_on"] = today(tx.Now).String()
		if beneficiary != "" {
			a.Beneficiary, created = beneficiary, beneficiary
		}
		cp.Outputs = outputs
		cp.Status = PartApproved
		if pd.Result == "" {
			cp.Status = PartIssued
		}
		if err := updatePart(ctx, tx, cp, from); err != nil {
			return err
		}
		if err := release(ctx, tx, p, a); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, a.ID, "approved", cp.Code, map[string]any{"agency": cp.Agency, "document_number": outputs["document_number"]}); err != nil {
			return err
		}
		if err := s.auditDesk(ctx, tx, "portal.part.approve", a, cp, map[string]any{"role": string(off.post.Role), "effect": pd.Effect,
			"document_number": outputs["document_number"]}); err != nil {
			return err
		}
		if derivedStatus(a.Parts, a.Status) == StatusResultIssued {
			a.Status = StatusResultIssued
			return s.finish(ctx, tx, a)
		}
		return nil
	})
	if err != nil {
		return Application{}, err
	}
	if refund {
		s.refund(ctx, a, "refused")
	}
	if created != "" && a.ApplicantAccount != "" {
		// The applicant is the newborn's guardian: they see its documents.
		if err := s.o.Accounts.AddDependent(ctx, a.ApplicantAccount, created); err != nil && kernel.ErrorCode(err) != kernel.Conflict {
			s.o.Logger.Warn("portal: recording the guardian failed", "application", a.ID, "error", err)
		}
	}
	if req.Approve && pd.Result != "" {
		return s.IssueResult(ctx, req.Agency, req.ID, req.Part, req.Code, req.Lang)
	}
	return a, nil
}

func mustAtoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
