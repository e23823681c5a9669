package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/tally"
)

// Consumer is who asks: the grants' name for them and how the person
// whose data it is will see them.
type Consumer struct {
	// Name is as grants name the consumer: a client ID, "desk:AGENCY",
	// "PEER:CLIENT".
	Name string
	// Actor is who reads, as the audit and the log record it.
	Actor  kernel.Actor
	Agency string // the consumer's agency code, when known
	// Label is the reader as the person sees them: the agency's name, an
	// official's post; "" for the agency's name.
	Label   string
	Post    string // an official's role at the agency, at the desk
	Peer    string // the peer province the query came from, or ""
	Channel string // ChannelExchange or ChannelDesk
}

// SubjectRef names whom a query asks about.
type SubjectRef struct {
	Kind string // SubjectPerson or SubjectOrganisation
	ID   string
}

// Request is one query.
type Request struct {
	Service  string // a service code; CODE@PEER for a peer province's
	Subject  SubjectRef
	Purpose  string // a code of the catalogue of legal purposes
	CaseRef  string // the application, document or inspection it serves
	Consumer Consumer
}

// Answer is a query's answer.
type Answer struct {
	// Data is the JSON object sent, exactly: the receipt's data_sha256 is
	// over these bytes.
	Data     []byte
	Receipt  string
	Service  string // as asked
	Provider string // the answering agency's code
	// ProviderName is the answering agency's name, and Peer the province
	// it is in when it is not this one.
	ProviderName string
	Peer         string
	Fields       []string
	At           time.Time
	ID           string // the query's entry in the log
}

// Indicators published for the dashboards.
const indicatorQueries = "exchange.queries" // queries answered, by the subject's commune

// Indicators lists the figures the exchange publishes per commune.
func (s *Service) Indicators() []tally.Indicator {
	return []tally.Indicator{{Name: indicatorQueries, TitleKey: "exchange.indicator.queries", Kind: tally.Flow}}
}

// MaxSubjectID bounds a subject's identifier: anything longer is refused
// before any lookup.
const MaxSubjectID = 32

// checkSubject reads a subject reference for a service.
func checkSubject(sp Spec, ref SubjectRef) (SubjectRef, error) {
	if ref.Kind == "" && ref.ID == "" {
		return SubjectRef{}, kernel.E(kernel.Invalid, "exchange.error.no_subject")
	}
	if len(ref.ID) > MaxSubjectID {
		return SubjectRef{}, kernel.E(kernel.Invalid, "exchange.error.bad_subject")
	}
	if ref.Kind != sp.Subject {
		return SubjectRef{}, kernel.E(kernel.Invalid, "exchange.error.wrong_subject", sp.Subject)
	}
	switch ref.Kind {
	case SubjectPerson:
		if _, err := registry.ParseCitizenID(ref.ID); err != nil {
			return SubjectRef{}, kernel.E(kernel.Invalid, "exchange.error.bad_subject").WithCause(err)
		}
	case SubjectOrganisation:
		if !registry.ValidRegNumber(ref.ID) {
			return SubjectRef{}, kernel.E(kernel.Invalid, "exchange.error.bad_subject")
		}
	}
	return ref, nil
}

// Query answers one query, a remote service's (CODE@PEER) through the peer
// province. Refusals: Invalid without a purpose of the catalogue, a case,
// a well-formed subject of the service's kind, or for an unknown service;
// Forbidden without a live grant; NotFound only for a subject the registry
// does not know. Each answer is signed (the receipt), logged for the
// subject and audited, in one transaction.
func (s *Service) Query(ctx context.Context, req Request) (Answer, error) {
	if code, peer, remote := strings.Cut(req.Service, "@"); remote {
		return s.queryPeer(ctx, peer, code, req)
	}
	for attempt := 0; ; attempt++ {
		ans, err := s.query(ctx, req, attempt > 0)
		if errors.Is(err, errGrantChanged) {
			if attempt < 2 {
				continue // answered again from the grant as it is now
			}
			return Answer{}, kernel.E(kernel.Unavailable, "error.unavailable").WithCause(err)
		}
		return ans, err
	}
}

// query answers a query of this province's services, from the grant as
// kept, or as read now when fresh.
func (s *Service) query(ctx context.Context, req Request, fresh bool) (Answer, error) {
	sp, err := s.cat.Spec(req.Service)
	if err != nil {
		return Answer{}, err
	}
	purpose, err := checkPurpose(req.Purpose)
	if err != nil {
		return Answer{}, err
	}
	caseRef, err := checkCaseRef(req.CaseRef)
	if err != nil {
		return Answer{}, err
	}
	ref, err := checkSubject(sp, req.Subject)
	if err != nil {
		return Answer{}, err
	}
	c := req.Consumer
	if c.Name == "" || c.Actor.Kind == "" {
		return Answer{}, kernel.E(kernel.Forbidden, "exchange.error.no_grant")
	}
	now := s.o.Clock.Now()
	// The grant kept is checked again in the transaction that writes the
	// answer (recheckGrant): a revocation holds at once.
	g, err := s.grant(ctx, c.Name, sp.Code, now, fresh)
	if kernel.ErrorCode(err) == kernel.NotFound || err == nil && !g.Active(now) {
		return Answer{}, kernel.E(kernel.Forbidden, "exchange.error.no_grant")
	}
	if err != nil {
		return Answer{}, err
	}
	subj := Subject{Kind: ref.Kind, ID: ref.ID}
	unit := ""
	switch ref.Kind {
	case SubjectPerson:
		subj.Person, err = s.o.Registry.Person(ctx, ref.ID)
		unit = subj.Person.UnitCode
	default:
		subj.Business, err = s.o.Registry.Business(ctx, ref.ID)
		unit = subj.Business.UnitCode
	}
	if kernel.ErrorCode(err) == kernel.NotFound {
		return Answer{}, kernel.E(kernel.NotFound, "exchange.error.unknown_subject")
	}
	if err != nil {
		return Answer{}, err
	}
	found, err := sp.Fetch(ctx, s.o.Registry, subj)
	if err != nil {
		return Answer{}, err
	}
	data, given := minimise(sp, found, g.Fields)
	body, err := json.Marshal(data)
	if err != nil {
		return Answer{}, kernel.Wrap(err, "exchange: encode answer")
	}
	provider, err := s.Provider(ctx, sp)
	if err != nil {
		return Answer{}, err
	}
	seal, err := s.seal(ctx, provider.Code)
	if err != nil {
		return Answer{}, err
	}
	id := kernel.NewOrderedID(now)
	claims := ReceiptClaims{Issuer: s.o.PublicURL, Provider: provider.Code, Consumer: c.Name, Service: sp.Code, Subject: ref.ID,
		Purpose: purpose.Code, CaseRef: caseRef, IssuedAt: now.Unix(), DataSHA256: DataDigest(body), Fields: given, ID: id}
	receipt, err := signReceipt(seal, claims)
	if err != nil {
		return Answer{}, kernel.Wrap(err, "exchange: sign receipt")
	}
	label := c.Label
	if label == "" {
		label = s.agencyName(ctx, c.Agency)
	}
	channel := c.Channel
	if channel == "" {
		channel = ChannelExchange
	}
	base := Entry{Kind: KindUse, ReaderKind: string(c.Actor.Kind), ReaderID: c.Actor.ID, Consumer: c.Name, Agency: c.Agency,
		ReaderName: label, Post: c.Post, Channel: channel, Service: sp.Code, Purpose: purpose.Code, CaseRef: caseRef, Peer: c.Peer, Message: id,
		DataSHA256: claims.DataSHA256, Receipt: receipt}
	actx := kernel.WithActor(ctx, c.Actor)
	// The audit record is queued first and the log's entries after it: every
	// transaction takes the audit head before the log's (PostgreSQL locks
	// both), as the capabilities that record reads after auditing do.
	err = s.o.DB.Batch(actx, now, func(tx *db.Tx) error {
		if err := s.recheckGrant(actx, tx, g); err != nil {
			return err
		}
		details := map[string]any{"service": sp.Code, "consumer": c.Name, "fields": given, "message": id, "case_ref": caseRef}
		if c.Peer != "" {
			details["peer"] = c.Peer
		}
		if err := audit.Queue(actx, tx, audit.Entry{Action: "exchange.query", SubjectType: subjectType(ref.Kind), SubjectID: ref.ID,
			Purpose: purpose.Code, Details: details}); err != nil {
			return err
		}
		e := base
		e.ID, e.SubjectKind, e.Subject, e.Unit, e.Fields = id, ref.Kind, ref.ID, unit, given
		keep(tx, e)
		for _, f := range given {
			for _, other := range found.Related[f] {
				if other == ref.ID {
					continue
				}
				r := base
				r.SubjectKind, r.Subject, r.Related, r.Fields = SubjectPerson, other, true, []string{f}
				keep(tx, r)
			}
		}
		tally.Add(actx, tx, indicatorQueries, unit, 1)
		return nil
	})
	if errors.Is(err, errGrantChanged) {
		s.forgetGrant(c.Name, sp.Code)
	}
	if err != nil {
		return Answer{}, err
	}
	return Answer{Data: body, Receipt: receipt, Service: sp.Code, Provider: provider.Code, ProviderName: provider.Name,
		Fields: given, At: now, ID: id}, nil
}

// subjectType names a subject kind as the audit log does.
func subjectType(kind string) string {
	if kind == SubjectOrganisation {
		return "organisation"
	}
	return "person"
}

// minimise keeps only the granted fields of what the registry found: the
// data sent, and the names of the fields it carries. Nothing found, or
// nothing granted of it, is {}.
func minimise(sp Spec, found Found, granted []string) (map[string]any, []string) {
	keepRecord := func(rec map[string]any) map[string]any {
		out := make(map[string]any, len(granted))
		for _, f := range granted {
			if v, ok := rec[f]; ok {
				out[f] = v
			}
		}
		return out
	}
	var given []string
	note := func(rec map[string]any) {
		for f := range rec {
			if !slices.Contains(given, f) {
				given = append(given, f)
			}
		}
	}
	data := map[string]any{}
	switch {
	case len(found.Records) == 0:
	case sp.List:
		items := make([]any, 0, len(found.Records))
		for _, rec := range found.Records {
			k := keepRecord(rec)
			note(k)
			items = append(items, k)
		}
		data["items"] = items
	default:
		data = keepRecord(found.Records[0])
		note(data)
	}
	// In the service's order, so the log and the receipt read alike.
	ordered := make([]string, 0, len(given))
	for _, f := range sp.Fields {
		if slices.Contains(given, f.Name) {
			ordered = append(ordered, f.Name)
		}
	}
	return data, ordered
}

// RecountTallies counts the exchange's figures again from the log, as the
// incremental tallies should hold them: every answered query (a log entry
// with a message that is no other person's related read) by its subject's
// commune and day. A rebuild compares the two.
func (s *Service) RecountTallies(ctx context.Context) ([]tally.Row, error) {
	rows, err := s.o.DB.Query(ctx, "SELECT unit, at FROM exchange_log WHERE kind = ? AND related = 0 AND message <> ''", KindUse)
	if err != nil {
		return nil, kernel.Wrap(err, "exchange: recount")
	}
	defer rows.Close()
	type key struct{ unit, day string }
	counts := map[key]int64{}
	var order []key
	for rows.Next() {
		var unit string
		var at int64
		if err := rows.Scan(&unit, &at); err != nil {
			return nil, kernel.Wrap(err, "exchange: recount")
		}
		k := key{unit, tally.Day(kernel.FromMicros(at))}
		if _, ok := counts[k]; !ok {
			order = append(order, k)
		}
		counts[k]++
	}
	if err := rows.Err(); err != nil {
		return nil, kernel.Wrap(err, "exchange: recount")
	}
	out := make([]tally.Row, 0, len(order))
	for _, k := range order {
		out = append(out, tally.Row{Name: indicatorQueries, Unit: k.unit, Day: k.day, Value: counts[k]})
	}
	slices.SortFunc(out, func(a, b tally.Row) int { return strings.Compare(a.Unit+a.Day, b.Unit+b.Day) })
	return out, nil
}
