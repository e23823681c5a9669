package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/pdf"
	"civitas/internal/privacy"
	"civitas/internal/registry"
	"civitas/internal/signing"
	"civitas/internal/tally"
	"civitas/internal/wallet"
	"civitas/internal/web"
)

// OpenPrivacy builds the personal-data rights capability on the others,
// through the adapters below. web, wallet, signing and the provider may be
// nil (an operator command: retention and breaches need none of them).
func OpenPrivacy(d *db.DB, clock kernel.Clock, reg *registry.Service, id *identity.Service, ws *web.Server, p *oidc.Provider,
	w *wallet.Service, sg *signing.Service, uses privacy.UseLog, font *pdf.Font, log *slog.Logger) (*privacy.Service, error) {
	o := privacy.Options{DB: d, Clock: clock, Registry: reg, Font: font, Logger: log, Figures: privacyFigures{}, UseLog: uses}
	if id != nil {
		o.Accounts = privacyAccounts{id: id, reg: reg}
		o.Dependants = privacyDependants{id}
		o.Officials = privacyOfficials{id}
		o.Sources = append(o.Sources, identitySource{id: id, web: ws})
	}
	if p != nil {
		o.Consents = privacyConsents{p}
	}
	if w != nil {
		o.Sources = append(o.Sources, walletSource{w})
	}
	if sg != nil {
		o.Sources = append(o.Sources, signingSource{sg})
	}
	return privacy.New(o)
}

// privacyFigures moves the dashboards' figures.
type privacyFigures struct{}

var _ privacy.Figures = privacyFigures{}

func (privacyFigures) Add(ctx context.Context, tx *db.Tx, name, unit string, delta int64) {
	tally.Add(ctx, tx, name, unit, delta)
}

// privacyAccounts finds the signed-in person: their account and the name
// the population registry holds.
type privacyAccounts struct {
	id  *identity.Service
	reg *registry.Service
}

var _ privacy.Accounts = privacyAccounts{}

func (a privacyAccounts) Subject(ctx context.Context, accountID string) (privacy.Subject, error) {
	acc, err := a.id.Account(ctx, accountID)
	if err != nil {
		return privacy.Subject{}, err
	}
	s := privacy.Subject{AccountID: acc.ID, CitizenID: acc.CitizenID, UnitCode: acc.UnitCode}
	if p, err := a.reg.Person(ctx, acc.CitizenID); err == nil {
		s.Name, s.UnitCode = p.FullName, p.UnitCode
	} else if kernel.ErrorCode(err) != kernel.NotFound {
		return privacy.Subject{}, err
	}
	return s, nil
}

// privacyDependants are the children a guardian acts for.
type privacyDependants struct{ id *identity.Service }

var _ privacy.Dependants = privacyDependants{}

func (d privacyDependants) Dependants(ctx context.Context, accountID string) ([]privacy.Subject, error) {
	deps, err := d.id.Dependents(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]privacy.Subject, len(deps))
	for i, dep := range deps {
		out[i] = privacy.Subject{CitizenID: dep.Person.CitizenID, Name: dep.Person.FullName, UnitCode: dep.Person.UnitCode, Dependant: true}
	}
	return out, nil
}

// privacyOfficials are an account's posts, for the corrections desk.
type privacyOfficials struct{ id *identity.Service }

var _ privacy.Officials = privacyOfficials{}

func (o privacyOfficials) Posts(ctx context.Context, accountID string) ([]privacy.Post, error) {
	posts, err := o.id.Posts(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]privacy.Post, len(posts))
	for i, p := range posts {
		out[i] = privacy.Post{AgencyCode: p.Agency.Code, AgencyName: p.Agency.Name}
	}
	return out, nil
}

// privacyConsents are the OpenID Provider's grants.
type privacyConsents struct{ p *oidc.Provider }

var _ privacy.Consents = privacyConsents{}

func (c privacyConsents) Consents(ctx context.Context, accountID string) ([]privacy.Consent, error) {
	gs, err := c.p.Grants(ctx, accountID)
	out := make([]privacy.Consent, len(gs))
	for i, g := range gs {
		out[i] = privacy.Consent{ClientID: g.ClientID, Name: g.Name, Purpose: g.Purpose, Scopes: g.Scopes, GrantedAt: g.GrantedAt}
	}
	return out, err
}

func (c privacyConsents) Withdraw(ctx context.Context, accountID, clientID string) error {
	return c.p.RevokeGrant(ctx, accountID, clientID)
}

// identitySource is what the e-ID holds: the account, its authenticators
// (never a secret: that they exist, their names, when used), its live
// sessions, its usage history and its organisations.
type identitySource struct {
	id  *identity.Service
	web *web.Server
}

var _ privacy.Source = identitySource{}

func (identitySource) Name() string { return "account" }

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (s identitySource) Export(ctx context.Context, subj privacy.Subject) ([]privacy.Record, error) {
	if subj.AccountID == "" {
		return nil, nil
	}
	a, err := s.id.Account(ctx, subj.AccountID)
	if err != nil {
		return nil, err
	}
	rs := []privacy.Record{{Kind: "account", ID: a.ID, Fields: fieldsOf(
		"citizen_id", a.CitizenID, "level", fmt.Sprint(a.Level), "status", a.Status, "phone", a.Phone, "contact", a.Contact,
		"password", yes(a.HasPassword), "totp", yes(a.HasTOTP), "created_at", privacyTime(a.CreatedAt), "activated_at", privacyTime(a.ActivatedAt))}}
	keys, err := s.id.Passkeys(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		rs = append(rs, privacy.Record{Kind: "passkey", ID: k.ID, Fields: fieldsOf("name", k.Name, "created_at", privacyTime(k.CreatedAt), "last_used_at", privacyTime(k.LastUsedAt))})
	}
	if s.web != nil {
		sessions, err := s.web.AccountSessions(ctx, a.ID, "")
		if err != nil {
			return nil, err
		}
		for _, se := range sessions {
			rs = append(rs, privacy.Record{Kind: "session", ID: se.ID, Fields: fieldsOf("created_at", privacyTime(se.CreatedAt),
				"expires_at", privacyTime(se.ExpiresAt), "user_agent", se.UserAgent, "acr", se.ACR)})
		}
	}
	events, err := s.id.History(ctx, a.ID, time.Time{}, 200)
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		var details []string
		for k, v := range e.Details {
			details = append(details, k+"="+v)
		}
		rs = append(rs, privacy.Record{Kind: "event", ID: e.ID, Fields: fieldsOf("at", privacyTime(e.At), "event", e.Kind, "client", e.ClientID,
			"acting_for", e.ActingFor, "details", strings.Join(details, " "))})
	}
	orgs, err := s.id.Organisations(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	for _, o := range orgs {
		rs = append(rs, privacy.Record{Kind: "organisation", ID: o.RegNumber, Fields: fieldsOf("name", o.Name, "role", o.Role)})
	}
	return rs, nil
}

// walletSource is the documents in the person's wallet: what was issued,
// by whom, when, its status; the claims are in the documents themselves,
// which the holder downloads from the wallet. The issuing agency corrects.
type walletSource struct{ w *wallet.Service }

var _ privacy.Source = walletSource{}

func (walletSource) Name() string { return "wallet" }

func (s walletSource) Export(ctx context.Context, subj privacy.Subject) ([]privacy.Record, error) {
	docs, err := s.w.Documents(ctx, wallet.Holder{Kind: wallet.HolderPerson, ID: subj.CitizenID}, true)
	if err != nil {
		return nil, err
	}
	rs := make([]privacy.Record, 0, len(docs))
	for _, d := range docs {
		rs = append(rs, privacy.Record{Kind: "document", ID: d.ID, Agency: d.Agency, Fields: fieldsOf("type", d.Type, "agency", d.Agency,
			"issued_at", privacyTime(d.IssuedAt), "expires_at", privacyTime(d.ExpiresAt), "status", d.Status, "hidden", yes(d.Hidden), "replaces", d.Replaces)})
	}
	return rs, nil
}

// signingSource is the person's signing credentials and the requests
// waiting for them.
type signingSource struct{ s *signing.Service }

var _ privacy.Source = signingSource{}

func (signingSource) Name() string { return "signing" }

func (s signingSource) Export(ctx context.Context, subj privacy.Subject) ([]privacy.Record, error) {
	if subj.AccountID == "" {
		return nil, nil
	}
	creds, err := s.s.Credentials(ctx, subj.AccountID)
	if err != nil {
		return nil, err
	}
	var rs []privacy.Record
	for _, c := range creds {
		rs = append(rs, privacy.Record{Kind: "credential", ID: c.ID, Fields: fieldsOf("serial", c.Serial, "status", c.Status,
			"created_at", privacyTime(c.CreatedAt), "activated_at", privacyTime(c.ActivatedAt), "signatures", fmt.Sprint(c.Signatures),
			"agency", c.Capacity.AgencyCode, "title", c.Capacity.Title)})
	}
	reqs, err := s.s.Pending(ctx, subj.AccountID)
	if err != nil {
		return nil, err
	}
	for _, r := range reqs {
		rs = append(rs, privacy.Record{Kind: "request", ID: r.ID, Fields: fieldsOf("client", r.Client, "description", r.Description,
			"status", r.Status, "created_at", privacyTime(r.CreatedAt), "expires_at", privacyTime(r.ExpiresAt), "items", fmt.Sprint(r.Count))})
	}
	return rs, nil
}

// privacyTime writes a time in the province's zone; zero is "".
func privacyTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(kernel.Zone()).Format(time.RFC3339)
}

// fieldsOf pairs names and values, leaving out empty values.
func fieldsOf(kv ...string) []privacy.Field {
	out := make([]privacy.Field, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			out = append(out, privacy.Field{Name: kv[i], Value: kv[i+1]})
		}
	}
	return out
}
