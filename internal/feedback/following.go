package feedback

import (
	"context"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Reporter names who follows a report: the signed-in account that sent
// it, or the holder of its tracking code.
type Reporter struct {
	AccountID    string
	TrackingCode string
}

// reporterCheck lets the report's own reporter act, when allowed by more.
func reporterCheck(who Reporter, more func(rep Report) error) func(*refs, Report) error {
	return func(_ *refs, rep Report) error {
		if !who.owns(rep) {
			return errNoReport() // another's report is none of theirs to know of
		}
		if more != nil {
			return more(rep)
		}
		return nil
	}
}

func (who Reporter) owns(rep Report) bool {
	if who.AccountID != "" && rep.Reporter == who.AccountID {
		return true
	}
	if who.TrackingCode != "" && rep.Anonymous {
		code, ok := normalizeTrackingCode(who.TrackingCode)
		return ok && rep.trackingHash == hashSecret(code)
	}
	return false
}

// Track finds the report a tracking code follows. Wrong codes count
// against the client's limit, so codes cannot be guessed; right ones cost
// nothing, so a reporter following their report is never locked out.
func (s *Service) Track(ctx context.Context, code, addr string) (Report, error) {
	now := s.o.Clock.Now()
	if !s.limits.has("track:"+addr, now) {
		return Report{}, errTooMany()
	}
	c, ok := normalizeTrackingCode(code)
	if !ok {
		s.limits.allow("track:"+addr, now)
		return Report{}, kernel.E(kernel.Invalid, "feedback.error.tracking_code")
	}
	var rep Report
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		rep, err = findReportByTracking(ctx, tx, hashSecret(c))
		return err
	})
	if kernel.ErrorCode(err) == kernel.NotFound {
		s.limits.allow("track:"+addr, now)
		return Report{}, kernel.E(kernel.NotFound, "feedback.error.tracking_code")
	}
	return rep, err
}

// ReporterReport returns a report to its reporter, with the questions
// staff asked them and their answers besides the public steps.
func (s *Service) ReporterReport(ctx context.Context, who Reporter, id string) (Detail, error) {
	var d Detail
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		rep, err := findReport(ctx, tx, id)
		if err != nil {
			return err
		}
		if !who.owns(rep) {
			return errNoReport()
		}
		d.Report = rep
		evs, err := findEvents(ctx, tx, id, false)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.Public || e.Kind == EventInfoRequested || e.Kind == EventInfoGiven {
				d.Events = append(d.Events, e)
			}
		}
		d.Photos, err = findPhotos(ctx, tx, id)
		return err
	})
	return d, err
}

// MyReports lists the reports an account sent, newest first.
func (s *Service) MyReports(ctx context.Context, accountID string, p kernel.Page) ([]Report, error) {
	if accountID == "" {
		return nil, kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	p = p.Normalize(50)
	where, args := `reporter = ?`, []any{accountID}
	if p.After != "" {
		where += ` AND id < ?`
		args = append(args, p.After)
	}
	args = append(args, p.Limit)
	var out []Report
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		out, err = queryReports(ctx, tx, where+` ORDER BY id DESC LIMIT ?`, args...)
		return err
	})
	return out, err
}

// Reply answers the question staff asked.
func (s *Service) Reply(ctx context.Context, who Reporter, id, text string) (Report, error) {
	if _, ok := cleanText(text, MaxNote); !ok || len(text) == 0 {
		return Report{}, kernel.E(kernel.Invalid, "feedback.error.note", MaxNote)
	}
	return s.step(ctx, id, reporterCheck(who, func(rep Report) error {
		if !rep.WaitingReporter {
			return kernel.E(kernel.Conflict, "feedback.error.status_step")
		}
		return nil
	}), change{kind: EventInfoGiven, public: false, note: text,
		apply: func(_ *refs, rep *Report, _ time.Time) error {
			rep.WaitingReporter = false
			return nil
		}})
}

// Reopen sends a resolved report back to the agency: the reporter says it
// is not fixed, within ReopenWindow of its resolution.
func (s *Service) Reopen(ctx context.Context, who Reporter, id, reason string) (Report, error) {
	return s.step(ctx, id, reporterCheck(who, func(rep Report) error {
		if !rep.CanReopen(s.o.Clock.Now()) {
			return kernel.E(kernel.Conflict, "feedback.error.reopen")
		}
		return nil
	}), change{kind: EventReopened, public: true, note: reason, notice: "feedback.notice.reopened",
		apply: func(_ *refs, rep *Report, _ time.Time) error {
			rep.Status, rep.Reopened, rep.ClosedAt, rep.StatusNote = InProgress, rep.Reopened+1, time.Time{}, ""
			return nil
		}})
}

// Rate records the reporter's rating of the handling (1 to 5, with a
// comment staff read); a resolved report is then closed.
func (s *Service) Rate(ctx context.Context, who Reporter, id string, rating int, comment string) (Report, error) {
	if rating < 1 || rating > 5 {
		return Report{}, kernel.E(kernel.Invalid, "feedback.error.rating")
	}
	c, ok := cleanText(comment, MaxComment)
	if !ok {
		return Report{}, kernel.E(kernel.Invalid, "feedback.error.note", MaxComment)
	}
	return s.step(ctx, id, reporterCheck(who, func(rep Report) error {
		if !rep.CanRate() {
			return kernel.E(kernel.Conflict, "feedback.error.rate")
		}
		return nil
	}), change{kind: EventRated, public: true,
		apply: func(_ *refs, rep *Report, now time.Time) error {
			rep.Rating, rep.RatingComment, rep.RatedAt = rating, c, now
			if rep.Status == Resolved {
				rep.Status, rep.ClosedAt = Closed, now
			}
			return nil
		},
		details: map[string]any{"rating": rating}})
}

// Support adds a "me too" to an open report: a citizen who has the same
// problem says so instead of sending a duplicate.
func (s *Service) Support(ctx context.Context, id, addr string) (Report, error) {
	if !s.limits.allow("support:"+addr, s.o.Clock.Now()) {
		return Report{}, errTooMany()
	}
	return s.step(ctx, id, func(_ *refs, rep Report) error {
		if rep.Sensitive {
			return errNoReport()
		}
		if !rep.Status.Open() {
			return kernel.E(kernel.Conflict, "feedback.error.status_step")
		}
		return nil
	}, change{kind: EventSupported, public: false,
		apply: func(_ *refs, rep *Report, _ time.Time) error {
			rep.Supporters++
			return nil
		}})
}

// CloseExpired closes the reports resolved longer than ReopenWindow ago
// that nobody reopened: the background job of an instance holding its
// lease. It returns how many it closed.
func (s *Service) CloseExpired(ctx context.Context) (int, error) {
	ctx = kernel.WithActor(ctx, kernel.System("feedback.close"))
	cutoff := kernel.Micros(s.o.Clock.Now().Add(-ReopenWindow))
	n := 0
	for {
		var ids []string
		err := s.o.DB.View(ctx, func(tx *db.Tx) error {
			rows, err := tx.Query(ctx, `SELECT id FROM feedback_reports WHERE status = 'resolved' AND resolved_at < ? ORDER BY resolved_at LIMIT 200`, cutoff)
			if err != nil {
				return kernel.Wrap(err, "feedback: expired reports")
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return kernel.Wrap(err, "feedback: expired reports")
				}
				ids = append(ids, id)
			}
			return rows.Err()
		})
		if err != nil || len(ids) == 0 {
			return n, err
		}
		for _, id := range ids {
			_, err := s.step(ctx, id, func(_ *refs, rep Report) error {
				if rep.Status != Resolved {
					return kernel.E(kernel.Conflict, "feedback.error.status_step")
				}
				return nil
			}, change{kind: EventClosed, public: true, notice: "feedback.notice.closed_expired",
				apply: func(_ *refs, rep *Report, now time.Time) error {
					rep.Status, rep.ClosedAt = Closed, now
					return nil
				}})
			if err != nil && kernel.ErrorCode(err) != kernel.Conflict {
				return n, err
			}
			if err == nil {
				n++
			}
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
	}
}

// PublicDetail is a report as anyone sees it: what, where, the steps and
// the photos; never who sent it.
type PublicDetail struct {
	ID          string
	Category    string
	Commune     string
	District    string
	Lat, Lon    float64
	ByAddress   bool
	Address     string
	Description string
	Attributes  map[string]string
	Status      Status
	StatusNote  string
	Agency      string
	Supporters  int
	Rating      int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DueAt       time.Time
	Overdue     bool
	Events      []PublicEvent
	Photos      []Photo
	Token       string
}

// PublicEvent is a step as anyone sees it: the agency that acted, never a
// person.
type PublicEvent struct {
	At      time.Time
	Kind    string
	To      Status
	Note    string
	Agency  string
	PhotoID string
}

// Public returns a report as anyone sees it. A report of a sensitive
// category is not found.
func (s *Service) Public(ctx context.Context, id string) (PublicDetail, error) {
	var d PublicDetail
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		rep, err := findReport(ctx, tx, id)
		if err != nil {
			return err
		}
		if rep.Sensitive {
			return errNoReport()
		}
		d = publicOf(rep, s.o.Clock.Now())
		evs, err := findEvents(ctx, tx, id, true)
		if err != nil {
			return err
		}
		for _, e := range evs {
			d.Events = append(d.Events, PublicEvent{At: e.At, Kind: e.Kind, To: e.To, Note: e.Note, Agency: e.Agency, PhotoID: e.PhotoID})
		}
		d.Photos, err = findPhotos(ctx, tx, id)
		return err
	})
	return d, err
}

func publicOf(rep Report, now time.Time) PublicDetail {
	return PublicDetail{ID: rep.ID, Category: rep.Category, Commune: rep.Commune, District: rep.District, Lat: rep.Place.Lat, Lon: rep.Place.Lon,
		ByAddress: rep.Place.ByAddress, Address: rep.Place.Address, Description: rep.Description, Attributes: rep.Attributes,
		Status: rep.Status, StatusNote: rep.StatusNote, Agency: rep.Agency, Supporters: rep.Supporters, Rating: rep.Rating,
		CreatedAt: rep.CreatedAt, UpdatedAt: rep.UpdatedAt, DueAt: rep.DueAt, Overdue: rep.Overdue(now), Token: rep.Token}
}

// Photo returns a stored photo's JPEG bytes (thumb: its thumbnail). A
// photo of a sensitive report is shown only to whom may see the report:
// allowed says whether the viewer may.
func (s *Service) Photo(ctx context.Context, id string, thumb bool, allowed func(rep Report) bool) ([]byte, error) {
	var b []byte
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var reportID string
		var err error
		b, reportID, err = findPhotoBytes(ctx, tx, id, thumb)
		if err != nil {
			return err
		}
		rep, err := findReport(ctx, tx, reportID)
		if err != nil {
			return err
		}
		if rep.Sensitive && (allowed == nil || !allowed(rep)) {
			return kernel.E(kernel.NotFound, "feedback.error.no_photo")
		}
		return nil
	})
	return b, err
}
