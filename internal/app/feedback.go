package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/feedback"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/notify"
	"civitas/internal/registry"
)

// DemoFeedbackReports is how many reports the demo province starts with.
const DemoFeedbackReports = 300

// OpenFeedback builds citizen feedback on the registry (units, boundaries,
// agencies, officials), the e-ID (officials' accounts) and notify.
// Staff's reads of a reporter's contact go to uses, the data-use log.
func OpenFeedback(d *db.DB, clock kernel.Clock, reg *registry.Service, id *identity.Service, n *notify.Service, uses feedback.UseLog, cfg config.Config, log *slog.Logger) (*feedback.Service, error) {
	return feedback.New(feedback.Options{DB: d, Clock: clock, Units: feedbackUnits{reg}, Staff: &feedbackStaff{reg: reg, id: id},
		Notifier: feedbackNotifier{n}, UseLog: uses, Logger: log, PublicURL: cfg.PublicURL})
}

// feedbackUnits gives feedback the administrative units and their
// boundaries from the registry.
type feedbackUnits struct{ reg *registry.Service }

var _ feedback.Units = feedbackUnits{}

func unitOf(u registry.Unit) feedback.Unit {
	return feedback.Unit{Code: u.Code, Name: u.Name, Level: string(u.Level), Parent: u.ParentCode}
}

func (u feedbackUnits) UnitAt(ctx context.Context, lat, lon float64) (feedback.Unit, error) {
	ru, err := u.reg.UnitAt(ctx, lat, lon)
	if err != nil {
		return feedback.Unit{}, err
	}
	return unitOf(ru), nil
}

func (u feedbackUnits) Units(ctx context.Context) ([]feedback.Unit, error) {
	var out []feedback.Unit
	p := kernel.Page{Limit: kernel.MaxPageLimit}
	for {
		us, err := u.reg.ListUnits(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, ru := range us {
			out = append(out, unitOf(ru))
		}
		if len(us) < p.Limit {
			return out, nil
		}
		p.After = us[len(us)-1].Code
	}
}

func (u feedbackUnits) Boundaries(ctx context.Context) ([]feedback.Boundary, error) {
	var out []feedback.Boundary
	p := kernel.Page{Limit: kernel.MaxPageLimit}
	for {
		bs, err := u.reg.ListBoundaries(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			// The registry keeps one outer ring without repeating its
			// first vertex; GeoJSON (and feedback) close the ring.
			ring := make(feedback.Ring, 0, len(b.Polygon)+1)
			for _, pt := range b.Polygon {
				ring = append(ring, feedback.Point{pt.Lon, pt.Lat})
			}
			if len(ring) > 0 {
				ring = append(ring, ring[0])
			}
			out = append(out, feedback.Boundary{Unit: b.UnitCode, Polygons: []feedback.Polygon{{ring}}})
		}
		if len(bs) < p.Limit {
			return out, nil
		}
		p.After = bs[len(bs)-1].UnitCode
	}
}

// feedbackStaff gives feedback the agencies and their officials: posts of
// signed-in accounts from the e-ID, members of an agency from the registry
// of officials (those with an active account).
type feedbackStaff struct {
	reg *registry.Service
	id  *identity.Service

	mu        sync.Mutex
	officials map[string][]registry.Official // by agency
	readAt    time.Time
}

var _ feedback.Staff = (*feedbackStaff)(nil)

// officialsTTL is how long the officials are kept between reads.
const officialsTTL = time.Minute

func (s *feedbackStaff) Agencies(ctx context.Context) ([]feedback.Agency, error) {
	var out []feedback.Agency
	p := kernel.Page{Limit: kernel.MaxPageLimit}
	for {
		as, err := s.reg.ListAgencies(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			out = append(out, feedback.Agency{Code: a.Code, Name: a.Name, Kind: string(a.Kind), Unit: a.UnitCode})
		}
		if len(as) < p.Limit {
			return out, nil
		}
		p.After = as[len(as)-1].Code
	}
}

func (s *feedbackStaff) Posts(ctx context.Context, accountID string) ([]feedback.Post, error) {
	posts, err := s.id.Posts(ctx, accountID)
	if kernel.ErrorCode(err) == kernel.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]feedback.Post, len(posts))
	for i, p := range posts {
		out[i] = feedback.Post{Agency: feedback.Agency{Code: p.Agency.Code, Name: p.Agency.Name, Kind: string(p.Agency.Kind), Unit: p.Agency.UnitCode},
			Role: string(p.Role)}
	}
	return out, nil
}

// byAgency returns the officials of an agency, reading every official
// again after officialsTTL (the registry lists them by ID only).
func (s *feedbackStaff) byAgency(ctx context.Context, agency string) ([]registry.Official, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.officials == nil || time.Since(s.readAt) > officialsTTL {
		m := map[string][]registry.Official{}
		p := kernel.Page{Limit: kernel.MaxPageLimit}
		for {
			os, err := s.reg.ListOfficials(ctx, p)
			if err != nil {
				return nil, err
			}
			for _, o := range os {
				m[o.AgencyCode] = append(m[o.AgencyCode], o)
			}
			if len(os) < p.Limit {
				break
			}
			p.After = os[len(os)-1].ID
		}
		s.officials, s.readAt = m, time.Now()
	}
	return s.officials[agency], nil
}

func (s *feedbackStaff) Members(ctx context.Context, agency string) ([]feedback.Member, error) {
	offs, err := s.byAgency(ctx, agency)
	if err != nil {
		return nil, err
	}
	var out []feedback.Member
	for _, o := range offs {
		acct, err := s.id.AccountByCitizen(ctx, o.CitizenID)
		if kernel.ErrorCode(err) == kernel.NotFound {
			continue // an official without an account cannot be assigned
		}
		if err != nil {
			return nil, err
		}
		if acct.Status != identity.StatusActive {
			continue
		}
		p, err := s.reg.Person(ctx, o.CitizenID)
		if err != nil {
			return nil, err
		}
		name := p.FullName
		if t, ok := roleTitles[o.Role]; ok {
			name += " (" + t + ")"
		}
		out = append(out, feedback.Member{AccountID: acct.ID, Name: name, Role: string(o.Role)})
	}
	return out, nil
}

func (s *feedbackStaff) Person(ctx context.Context, accountID string) (feedback.Person, error) {
	acct, err := s.id.Account(ctx, accountID)
	if err != nil {
		return feedback.Person{}, err
	}
	p, err := s.reg.Person(ctx, acct.CitizenID)
	if err != nil {
		return feedback.Person{}, err
	}
	phone := acct.Phone
	if phone == "" {
		phone = p.Phone
	}
	return feedback.Person{CitizenID: acct.CitizenID, Name: p.FullName, Phone: phone}, nil
}

// feedbackNotifier tells reporters of their reports' steps through notify:
// notices into the inbox and the channels they chose, in the step's
// transaction.
type feedbackNotifier struct{ n *notify.Service }

var _ feedback.Notifier = feedbackNotifier{}

func (f feedbackNotifier) Notify(ctx context.Context, tx *db.Tx, n feedback.Notice) error {
	return f.n.Queue(ctx, tx, notify.Message{Kind: notify.KindNotice, AccountID: n.AccountID, Phone: n.Phone, Email: n.Email,
		Template: n.Template, Args: n.Args})
}

