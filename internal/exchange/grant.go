package exchange

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Grant is a consumer's right to a service: the fields it may receive,
// with the legal basis, until when, and whether it was withdrawn.
type Grant struct {
	Consumer  string
	Service   string
	Fields    []string
	Basis     string
	Until     time.Time // the first instant it no longer holds; zero: no end
	GrantedBy string
	GrantedAt time.Time
	RevokedAt time.Time // zero: not withdrawn
}

// Active reports whether the grant holds at t.
func (g Grant) Active(t time.Time) bool {
	return g.RevokedAt.IsZero() && (g.Until.IsZero() || t.Before(g.Until))
}

// GrantRequest asks to grant a consumer a service's fields.
type GrantRequest struct {
	Consumer string
	Service  string
	Fields   []string
	Basis    string
	// Until is the last day (YYYY-MM-DD, the province's calendar) the grant
	// holds; "" for no end.
	Until string
}

// Consumer names: an agency's system by its client ID, an agency's
// officials at the desk, a peer's consumer.
var (
	clientIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$`)
	peerNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
)

// DeskPrefix begins the consumer name of an agency's officials at their
// desk: "desk:" and the agency's code.
const DeskPrefix = "desk:"

// DeskConsumer is the consumer name of an agency's officials.
func DeskConsumer(agency string) string { return DeskPrefix + agency }

// checkConsumer checks a consumer name's form: a client ID, "desk:AGENCY"
// with an agency of the registry, or "PEER:CLIENT" (PEER:desk:AGENCY for a
// peer's officials). It returns the peer named, if any.
func (s *Service) checkConsumer(ctx context.Context, name string) (peer string, err error) {
	bad := kernel.E(kernel.Invalid, "exchange.error.bad_consumer")
	if len(name) > 200 {
		return "", bad
	}
	first, rest, two := strings.Cut(name, ":")
	switch {
	case !two:
		if !clientIDRE.MatchString(name) {
			return "", bad
		}
		return "", nil
	case first+":" == DeskPrefix:
		if _, err := s.o.Registry.Agency(ctx, rest); err != nil {
			return "", kernel.E(kernel.Invalid, "exchange.error.no_agency").WithCause(err)
		}
		return "", nil
	case peerNameRE.MatchString(first):
		if agency, isDesk := strings.CutPrefix(rest, DeskPrefix); isDesk {
			if agency != "" && len(agency) <= 64 && !strings.ContainsAny(agency, " :") {
				return first, nil
			}
			return "", bad
		}
		if clientIDRE.MatchString(rest) {
			return first, nil
		}
	}
	return "", bad
}

// Grant grants a consumer the fields of a service, replacing any grant it
// had for the service. Only the provider's administrator (an operator at
// the command line) grants. Every field must be one the service answers.
func (s *Service) Grant(ctx context.Context, in GrantRequest) (Grant, error) {
	if err := operatorOnly(ctx); err != nil {
		return Grant{}, err
	}
	sp, err := s.cat.Spec(strings.TrimSpace(in.Service))
	if err != nil {
		return Grant{}, err
	}
	g := Grant{Consumer: strings.TrimSpace(in.Consumer), Service: sp.Code, Basis: strings.TrimSpace(in.Basis)}
	if _, err := s.checkConsumer(ctx, g.Consumer); err != nil {
		return Grant{}, err
	}
	if g.Basis == "" || !printable(g.Basis, 500) {
		return Grant{}, kernel.E(kernel.Invalid, "exchange.error.bad_basis")
	}
	for _, f := range in.Fields {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !sp.HasField(f) {
			return Grant{}, kernel.E(kernel.Invalid, "exchange.error.unknown_field", f, sp.Code)
		}
		if !slices.Contains(g.Fields, f) {
			g.Fields = append(g.Fields, f)
		}
	}
	if len(g.Fields) == 0 {
		return Grant{}, kernel.E(kernel.Invalid, "exchange.error.no_fields")
	}
	now := s.o.Clock.Now()
	if in.Until != "" {
		day, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(in.Until), kernel.Zone())
		if err != nil {
			return Grant{}, kernel.E(kernel.Invalid, "exchange.error.bad_until")
		}
		g.Until = day.AddDate(0, 0, 1).UTC() // through the end of that day
		if !g.Until.After(now) {
			return Grant{}, kernel.E(kernel.Invalid, "exchange.error.until_past")
		}
	}
	actor := kernel.ActorFrom(ctx)
	g.GrantedBy = string(actor.Kind) + ":" + actor.ID
	err = s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
		g.GrantedAt = tx.Now
		if err := upsertGrant(ctx, tx, g); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "exchange.grant", SubjectType: "exchange_consumer", SubjectID: g.Consumer,
			Purpose: g.Basis, Details: map[string]any{"service": g.Service, "fields": g.Fields, "until": in.Until}})
		return err
	})
	if err != nil {
		return Grant{}, err
	}
	s.forgetGrant(g.Consumer, g.Service)
	return g, nil
}

// Revoke withdraws a consumer's grant of a service, at once: the next
// query is refused. A consumer without a live grant of it is NotFound.
func (s *Service) Revoke(ctx context.Context, consumer, service string) error {
	if err := operatorOnly(ctx); err != nil {
		return err
	}
	consumer, service = strings.TrimSpace(consumer), strings.TrimSpace(service)
	defer s.forgetGrant(consumer, service)
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		n, err := revokeGrant(ctx, tx, consumer, service)
		if err != nil {
			return err
		}
		if n == 0 {
			return kernel.E(kernel.NotFound, "exchange.error.no_such_grant")
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "exchange.revoke", SubjectType: "exchange_consumer", SubjectID: consumer,
			Details: map[string]any{"service": service}})
		return err
	})
}

// Grants lists the grants, live and withdrawn, of one consumer or ("")
// every consumer, by consumer and service.
func (s *Service) Grants(ctx context.Context, consumer string) ([]Grant, error) {
	return listGrants(ctx, s.o.DB, strings.TrimSpace(consumer))
}

// operatorOnly lets only an operator (the command line) or the system act.
func operatorOnly(ctx context.Context) error {
	switch kernel.ActorFrom(ctx).Kind {
	case kernel.ActorOperator, kernel.ActorSystem:
		return nil
	}
	return kernel.E(kernel.Forbidden, "exchange.error.operator_only")
}
