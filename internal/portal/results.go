package portal

import (
	"context"
	"slices"
	"strings"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// resultHolder is whose wallet a part's result goes to.
func resultHolder(a *Application, pd Part) (Subject, error) {
	switch h := cmpOr(pd.ResultHolder, HolderSubject); h {
	case HolderSubject:
		return a.Subject, nil
	case HolderBeneficiary:
		if a.Beneficiary == "" {
			return Subject{}, kernel.E(kernel.Conflict, "portal.error.no_beneficiary")
		}
		return Subject{Kind: SubjectPerson, ID: a.Beneficiary}, nil
	case HolderApplicant:
		return Subject{Kind: SubjectPerson, ID: a.ApplicantCitizen}, nil
	default:
		if s, ok := partyID(a, h); ok {
			return s, nil
		}
		return Subject{}, kernel.E(kernel.Invalid, "portal.error.no_holder")
	}
}

// resultClaims fills a result's claims from the decision's outputs (every
// part's; this part's first), its fields, the part's party's data, the
// application's data and the wallet documents it read.
func resultClaims(a *Application, pd Part, cp *CasePart, claims []string) map[string]any {
	resolve := func(key string) any {
		if v, ok := cp.Outputs[key]; ok && v != "" {
			return v
		}
		if v, ok := cp.Decision[key]; ok && v != "" {
			return v
		}
		for _, o := range a.Parts {
			if v, ok := o.Outputs[key]; ok && v != "" && o.Code != cp.Code {
				return v
			}
		}
		if pd.Party != "" && pd.Party != PartySubject && !strings.Contains(key, ".") {
			if v := lookup(a.Data, pd.Party+"."+key); v != nil && v != "" {
				return v
			}
		}
		if v := lookup(a.Data, key); v != nil && v != "" {
			if _, isMap := v.(map[string]any); !isMap {
				return v
			}
		}
		for _, v := range a.Data {
			if m, ok := v.(map[string]any); ok && m[key] != nil && m[key] != "" {
				return m[key]
			}
		}
		return nil
	}
	out := map[string]any{}
	for _, c := range claims {
		expr := c
		if e, ok := pd.ResultClaims[c]; ok {
			expr = e
		}
		for _, alt := range strings.Split(expr, "|") {
			if v := resolve(strings.TrimSpace(alt)); v != nil {
				out[c] = v
				break
			}
		}
	}
	return out
}

// IssueResult issues an approved part's result: the document into the
// holder's wallet (an SD-JWT VC sealed by the agency), then its PDF
// signed by the deciding official in their capacity (approved with their
// one-time code) and sealed by the agency, kept for the applicant. A
// document issued before (a signature that failed) is not issued again.
func (s *Service) IssueResult(ctx context.Context, agency, id, part, code, lang string) (Application, error) {
	a, err := s.DeskApplication(ctx, agency, id)
	if err != nil {
		return Application{}, err
	}
	p, _ := s.o.Catalogue.Procedure(a.Procedure)
	pd, ok := p.Part(part)
	if !ok {
		return Application{}, errNoApplication()
	}
	off, err := s.deskActor(ctx, agency, pd.DecideRoles())
	if err != nil {
		return Application{}, err
	}
	i := slices.IndexFunc(a.Parts, func(c CasePart) bool { return c.Code == part && c.Agency == agency })
	if i < 0 {
		return Application{}, errNoApplication()
	}
	cp := &a.Parts[i]
	if cp.Status != PartApproved || pd.Result == "" {
		return Application{}, kernel.E(kernel.Conflict, "portal.error.wrong_state")
	}
	if s.o.Signer == nil {
		return Application{}, kernel.E(kernel.Unavailable, "portal.error.no_signing")
	}
	holder, err := resultHolder(&a, pd)
	if err != nil {
		return Application{}, err
	}
	docID := cp.DocumentID
	if docID == "" {
		t, err := s.o.Wallet.Type(pd.Result)
		if err != nil {
			return Application{}, err
		}
		in := Issuance{Agency: agency, Type: pd.Result, Holder: holder}
		if !t.Registry || len(pd.ResultClaims) > 0 {
			in.Claims = resultClaims(&a, pd, cp, t.Claims)
			for _, r := range t.Required {
				if _, ok := in.Claims[r]; !ok {
					return Application{}, kernel.E(kernel.Invalid, "portal.error.result_claim", r)
				}
			}
		} else if pd.ResultRecord != "" {
			in.Record = valueText(resultClaims(&a, pd, cp, []string{pd.ResultRecord})[pd.ResultRecord])
		}
		if docID, err = s.o.Wallet.Issue(ctx, in); err != nil {
			return Application{}, err
		}
		// Kept at once: a signature that fails next does not issue it twice.
		err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
			cp.DocumentID, cp.DocumentType, cp.Holder = docID, pd.Result, holder
			if err := updatePart(ctx, tx, cp, PartApproved); err != nil {
				return err
			}
			if err := insertEvent(ctx, tx, a.ID, "document_issued", cp.Code, map[string]any{"type": pd.Result}); err != nil {
				return err
			}
			return audit.Queue(ctx, tx, audit.Entry{Action: "portal.result.issue", SubjectType: "application", SubjectID: a.ID,
				Details: map[string]any{"part": part, "type": pd.Result, "document": docID, "holder_kind": holder.Kind}})
		})
		if err != nil {
			return Application{}, err
		}
	}
	pdf, err := s.o.Wallet.RenderPDF(ctx, holder, docID, lang)
	if err != nil && kernel.ErrorCode(err) != kernel.NotFound && kernel.ErrorCode(err) != kernel.Unavailable {
		return Application{}, err
	}
	var signed []byte
	if pdf != nil {
		if strings.TrimSpace(code) == "" {
			return Application{}, kernel.E(kernel.Invalid, "portal.error.code_required")
		}
		name := pd.Result + "-" + a.ID[:8] + ".pdf"
		if signed, err = s.o.Signer.SignResult(ctx, off.account.ID, agency, strings.TrimSpace(code), name, pdf); err != nil {
			return Application{}, err
		}
	}
	var out Application
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		cur, err := load(ctx, tx, id)
		if err != nil {
			return err
		}
		j := slices.IndexFunc(cur.Parts, func(c CasePart) bool { return c.Code == part })
		c := &cur.Parts[j]
		if c.Status != PartApproved {
			return kernel.E(kernel.Conflict, "portal.error.changed")
		}
		c.Status = PartIssued
		if err := updatePart(ctx, tx, c, PartApproved); err != nil {
			return err
		}
		if signed != nil {
			if err := storeResultPDF(ctx, tx, cur.ID, part, signed); err != nil {
				return err
			}
			c.HasPDF = true
		}
		if err := insertEvent(ctx, tx, cur.ID, "result_signed", part, map[string]any{"type": pd.Result, "pdf": signed != nil}); err != nil {
			return err
		}
		if err := audit.Queue(ctx, tx, audit.Entry{Action: "portal.result.sign", SubjectType: "application", SubjectID: cur.ID,
			Details: map[string]any{"part": part, "document": docID, "pdf": signed != nil, "signer": off.account.ID, "role": string(off.post.Role)}}); err != nil {
			return err
		}
		cur.Status = derivedStatus(cur.Parts, cur.Status)
		if cur.Status == StatusResultIssued {
			if err := s.finish(ctx, tx, &cur); err != nil {
				return err
			}
		}
		if err := updateApplication(ctx, tx, &cur); err != nil {
			return err
		}
		out = cur
		return nil
	})
	return out, err
}

// ResultPDF is a part's signed and sealed result PDF, for whoever may see
// the application.
func (s *Service) ResultPDF(ctx context.Context, id, part string) ([]byte, error) {
	if _, err := s.viewable(ctx, id); err != nil {
		return nil, err
	}
	var b []byte
	err := s.o.DB.View(ctx, func(tx *db.Tx) (err error) {
		b, err = findResultPDF(ctx, tx, id, part)
		return err
	})
	return b, err
}

// ResultCredential is a part's document as issued (the SD-JWT VC with all
// its disclosures), for its holder, their guardian or the applicant.
func (s *Service) ResultCredential(ctx context.Context, id, part string) (string, error) {
	a, err := s.Application(ctx, id)
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(a.Parts, func(c CasePart) bool { return c.Code == part })
	if i < 0 || a.Parts[i].DocumentID == "" {
		return "", kernel.E(kernel.NotFound, "portal.error.no_result")
	}
	return s.o.Wallet.Credential(ctx, a.Parts[i].Holder, a.Parts[i].DocumentID)
}
