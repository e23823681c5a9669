package feedback

import (
	"context"
	"slices"
	"strings"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// Official is a member of staff at their post: the officer pages establish
// it (a level-2 session, a post at the agency) and put the official in the
// context as the actor, on behalf of the agency.
type Official struct {
	AccountID string
	Agency    Agency
	// Roles are every role the official holds at the agency: a member of
	// its rapid-response team works on the reports assigned to that team.
	Roles []string
}

// ActingFor is how an official's acts name their agency in the audit log.
func ActingFor(agency string) string { return "agency:" + agency }

func errNotStaff() error { return kernel.E(kernel.Forbidden, "feedback.error.not_staff") }

// mayHandle reports whether the official's agency answers the report, or
// the official is a member of the team it is assigned to.
func (o Official) mayHandle(rep Report) bool {
	if o.Agency.Code == "" {
		return false
	}
	if rep.Agency == o.Agency.Code {
		return true
	}
	for _, r := range o.Roles {
		if rep.Team != "" && rep.Team == TeamCode(o.Agency.Code, r) {
			return true
		}
	}
	return false
}

// Team roles: the officials of an agency in these roles form the teams
// reports are assigned to.
const (
	RoleRapidResponse = "rapid_response" // tổ phản ứng nhanh
	RoleCommunityTech = "community_tech" // tổ công nghệ số cộng đồng
)

// Team is the members of an agency in a team role.
type Team struct {
	Agency Agency
	Role   string
}

// Code names the team: the agency's code and the role.
func (t Team) Code() string { return TeamCode(t.Agency.Code, t.Role) }

// TeamCode names the team of an agency's officials in a role.
func TeamCode(agency, role string) string { return agency + "#" + role }

func parseTeam(code string) (agency, role string, ok bool) {
	agency, role, ok = strings.Cut(code, "#")
	return agency, role, ok && (role == RoleRapidResponse || role == RoleCommunityTech)
}

// responsible reports whether the official's agency answers the report
// (a team works on it; only the agency assigns and transfers it).
func (o Official) responsible(rep Report) bool {
	return o.Agency.Code != "" && rep.Agency == o.Agency.Code
}

// supervises reports whether the official may see the report as the unit
// above: a People's Committee sees the overdue reports of the units within
// its own that other agencies answer.
func (o Official) supervises(r *refs, rep Report, now time.Time) bool {
	if o.Agency.Kind != fallbackKind || !rep.Overdue(now) || rep.Agency == o.Agency.Code {
		return false
	}
	lvl := r.units[o.Agency.Unit].Level
	return (lvl == LevelDistrict || lvl == LevelProvince) && r.within(rep.Commune, o.Agency.Unit)
}

// change is one step of a report: decided on the report as read, it
// rewrites it and says what the timeline records.
type change struct {
	kind   string
	public bool
	note   string
	photo  []byte // a photo of the fix
	notice string // the reporter's notice, "" for none
	args   func(r *refs, rep Report) []string
	apply  func(r *refs, rep *Report, now time.Time) error
	// by is the agency recorded as acting ("" for the reporter or the
	// system).
	by      string
	details map[string]any
}

// step applies a change to report id in one transaction: the report, its
// timeline, its photo, the figures, the notice and the audit record.
// check says whether the actor may make it on the report as read.
func (s *Service) step(ctx context.Context, id string, check func(r *refs, rep Report) error, c change) (Report, error) {
	r, err := s.references(ctx)
	if err != nil {
		return Report{}, err
	}
	if c.note != "" {
		n, ok := cleanText(c.note, MaxNote)
		if !ok {
			return Report{}, kernel.E(kernel.Invalid, "feedback.error.note", MaxNote)
		}
		c.note = n
	}
	var photo *processedPhoto
	if len(c.photo) > 0 {
		p, err := s.photos.Process(ctx, c.photo)
		if err != nil {
			return Report{}, err
		}
		photo = &p
	}
	now := s.o.Clock.Now()
	var out Report
	err = s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
		was, err := findReport(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := check(r, was); err != nil {
			return err
		}
		rep := was
		rep.UpdatedAt = tx.Now.Truncate(time.Microsecond)
		if !rep.UpdatedAt.After(was.UpdatedAt) {
			rep.UpdatedAt = was.UpdatedAt.Add(time.Microsecond)
		}
		if err := c.apply(r, &rep, tx.Now); err != nil {
			return err
		}
		ev := Event{ID: kernel.NewOrderedID(tx.Now), At: tx.Now, Kind: c.kind, From: was.Status, To: rep.Status, Public: c.public,
			Note: c.note, Agency: c.by, Actor: actorOf(ctx)}
		if photo != nil {
			ph := Photo{ID: kernel.NewID(), ReportID: id, Role: PhotoFix, Position: 100 + rep.Photos, Width: photo.Width, Height: photo.Height}
			if err := insertPhoto(ctx, tx, ph, photo.Image, photo.Thumb); err != nil {
				return kernel.Wrap(err, "feedback: insert photo")
			}
			ev.PhotoID = ph.ID
		}
		if err := updateReport(ctx, tx, rep, was); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, id, ev); err != nil {
			return kernel.Wrap(err, "feedback: insert event")
		}
		countStep(ctx, tx, was, rep, c.kind)
		if c.notice != "" {
			args := []string{shortRef(id)}
			if c.args != nil {
				args = c.args(r, rep)
			}
			if err := s.notify(ctx, tx, rep, c.notice, args...); err != nil {
				return err
			}
		}
		details := map[string]any{"from": string(was.Status), "to": string(rep.Status)}
		for k, v := range c.details {
			details[k] = v
		}
		if _, err := audit.Append(ctx, tx, audit.Entry{Action: "feedback.report." + c.kind, SubjectType: "feedback_report", SubjectID: id,
			Details: details}); err != nil {
			return err
		}
		out = rep
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	s.pins.put(out)
	return out, nil
}

// countStep moves the figures a step changes, in the step's transaction.
func countStep(ctx context.Context, tx *db.Tx, was, now Report, kind string) {
	open := func(st Status) int64 {
		if st.Open() {
			return 1
		}
		return 0
	}
	tally.Add(ctx, tx, IndicatorOpen, now.Commune, open(now.Status)-open(was.Status))
	switch kind {
	case EventResolved:
		if was.FirstResolvedAt.IsZero() {
			tally.Add(ctx, tx, IndicatorResolved, now.Commune, 1)
			if !now.FirstResolvedAt.After(now.DueAt) {
				tally.Add(ctx, tx, IndicatorResolvedOnTime, now.Commune, 1)
			}
		}
	case EventReopened:
		tally.Add(ctx, tx, IndicatorReopened, now.Commune, 1)
	case EventRated:
		tally.Add(ctx, tx, IndicatorRated, now.Commune, 1)
		tally.Add(ctx, tx, IndicatorRatingPoints, now.Commune, int64(now.Rating))
	}
}

// staffCheck lets the official act on a report of their agency (or their
// team's), when it is in one of the statuses given (any when none).
func staffCheck(o Official, responsibleOnly bool, statuses ...Status) func(*refs, Report) error {
	return func(_ *refs, rep Report) error {
		if responsibleOnly && !o.responsible(rep) || !responsibleOnly && !o.mayHandle(rep) {
			return errNotStaff()
		}
		if len(statuses) > 0 {
			for _, st := range statuses {
				if rep.Status == st {
					return nil
				}
			}
			return kernel.E(kernel.Conflict, "feedback.error.status_step")
		}
		return nil
	}
}

// Receive acknowledges a report: the agency has it and will look at it.
func (s *Service) Receive(ctx context.Context, o Official, id string) (Report, error) {
	return s.step(ctx, id, staffCheck(o, false, Submitted), change{kind: EventReceived, public: true, by: o.Agency.Code,
		notice: "feedback.notice.received",
		args:   func(r *refs, rep Report) []string { return []string{shortRef(rep.ID), r.agencyName(rep.Agency)} },
		apply: func(_ *refs, rep *Report, now time.Time) error {
			rep.Status, rep.ReceivedAt = Received, now
			return nil
		}})
}

// Assign gives a report to a handler of the agency (an account among its
// members) and/or a team (another agency, such as a rapid-response team),
// and puts it in progress.
func (s *Service) Assign(ctx context.Context, o Official, id, handler, team string) (Report, error) {
	if handler == "" && team == "" {
		return Report{}, kernel.E(kernel.Invalid, "feedback.error.assign")
	}
	if handler != "" {
		members, err := s.o.Staff.Members(ctx, o.Agency.Code)
		if err != nil {
			return Report{}, err
		}
		found := false
		for _, m := range members {
			found = found || m.AccountID == handler
		}
		if !found {
			return Report{}, kernel.E(kernel.Invalid, "feedback.error.handler")
		}
	}
	if team != "" {
		agency, role, ok := parseTeam(team)
		if !ok {
			return Report{}, kernel.E(kernel.Invalid, "feedback.error.team")
		}
		members, err := s.o.Staff.Members(ctx, agency)
		if err != nil {
			return Report{}, err
		}
		if !slices.ContainsFunc(members, func(m Member) bool { return m.Role == role }) {
			return Report{}, kernel.E(kernel.Invalid, "feedback.error.team")
		}
	}
	return s.step(ctx, id, staffCheck(o, true, Submitted, Received, InProgress), change{kind: EventAssigned, public: true, by: o.Agency.Code,
		notice: "feedback.notice.in_progress",
		apply: func(r *refs, rep *Report, now time.Time) error {
			if team != "" {
				if agency, _, _ := parseTeam(team); r.agencies[agency].Code == "" {
					return kernel.E(kernel.Invalid, "feedback.error.team")
				}
				rep.Team = team
			}
			if handler != "" {
				rep.Handler = handler
			}
			if rep.ReceivedAt.IsZero() {
				rep.ReceivedAt = now
			}
			rep.Status = InProgress
			return nil
		},
		details: map[string]any{"handler": handler, "team": team}})
}

// Transfer hands a report to another agency, which answers it from then
// on: the handler and team are cleared, the status stays.
func (s *Service) Transfer(ctx context.Context, o Official, id, to, note string) (Report, error) {
	return s.step(ctx, id, staffCheck(o, true, Submitted, Received, InProgress), change{kind: EventTransferred, public: true, by: o.Agency.Code,
		note: note, notice: "feedback.notice.transferred",
		args: func(r *refs, rep Report) []string { return []string{shortRef(rep.ID), r.agencyName(rep.Agency)} },
		apply: func(r *refs, rep *Report, _ time.Time) error {
			if _, ok := r.agencies[to]; !ok || to == rep.Agency {
				return kernel.E(kernel.Invalid, "feedback.error.agency")
			}
			rep.Agency, rep.Team, rep.Handler = to, "", ""
			return nil
		},
		details: map[string]any{"to": to}})
}

// RequestInfo asks the reporter a question; the report waits for the answer.
func (s *Service) RequestInfo(ctx context.Context, o Official, id, question string) (Report, error) {
	if strings.TrimSpace(question) == "" {
		return Report{}, kernel.E(kernel.Invalid, "feedback.error.note", MaxNote)
	}
	return s.step(ctx, id, staffCheck(o, false, Submitted, Received, InProgress), change{kind: EventInfoRequested, public: false, by: o.Agency.Code,
		note: question, notice: "feedback.notice.info_requested",
		apply: func(_ *refs, rep *Report, _ time.Time) error {
			rep.WaitingReporter = true
			return nil
		}})
}

// Answer posts a public answer on the report's timeline.
func (s *Service) Answer(ctx context.Context, o Official, id, text string) (Report, error) {
	if strings.TrimSpace(text) == "" {
		return Report{}, kernel.E(kernel.Invalid, "feedback.error.note", MaxNote)
	}
	return s.step(ctx, id, staffCheck(o, false), change{kind: EventAnswered, public: true, by: o.Agency.Code, note: text,
		notice: "feedback.notice.answered",
		apply: func(_ *refs, rep *Report, _ time.Time) error {
			n, _ := cleanText(text, MaxNote)
			rep.StatusNote = n
			return nil
		}})
}

// Resolve marks a report fixed, with what was done and a photo of the fix
// (nil for none); the reporter has ReopenWindow to say it is not.
func (s *Service) Resolve(ctx context.Context, o Official, id, note string, photo []byte) (Report, error) {
	return s.step(ctx, id, staffCheck(o, false, Submitted, Received, InProgress), change{kind: EventResolved, public: true, by: o.Agency.Code,
		note: note, photo: photo, notice: "feedback.notice.resolved",
		apply: func(_ *refs, rep *Report, now time.Time) error {
			rep.Status, rep.ResolvedAt, rep.WaitingReporter = Resolved, now, false
			if rep.FirstResolvedAt.IsZero() {
				rep.FirstResolvedAt = now
			}
			if rep.ReceivedAt.IsZero() {
				rep.ReceivedAt = now
			}
			if n, ok := cleanText(note, MaxNote); ok && n != "" {
				rep.StatusNote = n
			}
			return nil
		}})
}

// Close ends a report that will not be fixed (not the authorities'
// business, a duplicate), saying why publicly.
func (s *Service) Close(ctx context.Context, o Official, id, reason string) (Report, error) {
	if strings.TrimSpace(reason) == "" {
		return Report{}, kernel.E(kernel.Invalid, "feedback.error.note", MaxNote)
	}
	return s.step(ctx, id, staffCheck(o, true, Submitted, Received, InProgress), change{kind: EventClosed, public: true, by: o.Agency.Code,
		note: reason, notice: "feedback.notice.closed",
		apply: func(_ *refs, rep *Report, now time.Time) error {
			n, _ := cleanText(reason, MaxNote)
			rep.Status, rep.ClosedAt, rep.StatusNote, rep.WaitingReporter = Closed, now, n, false
			return nil
		}})
}

// QueueFilter selects an agency's reports.
type QueueFilter struct {
	Status  string // "", "open", "closed" or a status
	Commune string // "" every commune
	Mine    bool   // only those assigned to the official
	Overdue bool
	Page    kernel.Page // by ID, newest first: After is the last ID seen
}

// Queue lists the reports the official's agency answers or its team works
// on, newest first.
func (s *Service) Queue(ctx context.Context, o Official, f QueueFilter) ([]Report, error) {
	if o.Agency.Code == "" {
		return nil, errNotStaff()
	}
	if !validStatusFilter(f.Status) {
		return nil, kernel.E(kernel.Invalid, "feedback.error.status")
	}
	f.Page = f.Page.Normalize(50)
	where := `(agency = ? OR team = ?)`
	args := []any{o.Agency.Code, o.Agency.Code}
	where, args = statusWhere(where, args, f.Status)
	if f.Commune != "" {
		where += ` AND commune = ?`
		args = append(args, f.Commune)
	}
	if f.Mine {
		where += ` AND handler = ?`
		args = append(args, o.AccountID)
	}
	if f.Overdue {
		where += ` AND due_at < ? AND status IN ('submitted', 'received', 'in_progress')`
		args = append(args, kernel.Micros(s.o.Clock.Now()))
	}
	if f.Page.After != "" {
		where += ` AND id < ?`
		args = append(args, f.Page.After)
	}
	args = append(args, f.Page.Limit)
	var out []Report
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		out, err = queryReports(ctx, tx, where+` ORDER BY id DESC LIMIT ?`, args...)
		return err
	})
	return out, err
}

func statusWhere(where string, args []any, status string) (string, []any) {
	switch status {
	case "":
	case "open":
		where += ` AND status IN ('submitted', 'received', 'in_progress')`
	case "closed":
		where += ` AND status IN ('resolved', 'closed')`
	default:
		where += ` AND status = ?`
		args = append(args, status)
	}
	return where, args
}

// Overdue lists the overdue reports a People's Committee of a district or
// the province sees as the unit above: those of its area that other
// agencies answer, most overdue first.
func (s *Service) Overdue(ctx context.Context, o Official, p kernel.Page) ([]Report, error) {
	r, err := s.references(ctx)
	if err != nil {
		return nil, err
	}
	lvl := r.units[o.Agency.Unit].Level
	if o.Agency.Kind != fallbackKind || lvl != LevelDistrict && lvl != LevelProvince {
		return nil, errNotStaff()
	}
	p = p.Normalize(50)
	now := kernel.Micros(s.o.Clock.Now())
	where := `due_at < ? AND status IN ('submitted', 'received', 'in_progress') AND agency <> ?`
	args := []any{now, o.Agency.Code}
	if lvl == LevelDistrict {
		where += ` AND district = ?`
		args = append(args, o.Agency.Unit)
	}
	if p.After != "" {
		where += ` AND id > ?`
		args = append(args, p.After)
	}
	args = append(args, p.Limit)
	var out []Report
	err = s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		out, err = queryReports(ctx, tx, where+` ORDER BY id LIMIT ?`, args...)
		return err
	})
	return out, err
}

// Detail is a report with its whole timeline and photos, as staff and its
// reporter see it.
type Detail struct {
	Report Report
	Events []Event
	Photos []Photo
	// ReadOnly says the viewer supervises the report but does not answer it.
	ReadOnly bool
}

// StaffReport returns a report to an official of the agency that answers
// it, of its team, or of the unit above once it is overdue.
func (s *Service) StaffReport(ctx context.Context, o Official, id string) (Detail, error) {
	r, err := s.references(ctx)
	if err != nil {
		return Detail{}, err
	}
	var d Detail
	err = s.o.DB.View(ctx, func(tx *db.Tx) error {
		rep, err := findReport(ctx, tx, id)
		if err != nil {
			return err
		}
		switch {
		case o.mayHandle(rep):
		case o.supervises(r, rep, s.o.Clock.Now()):
			d.ReadOnly = true
		default:
			return errNotStaff()
		}
		d.Report = rep
		if d.Events, err = findEvents(ctx, tx, id, false); err != nil {
			return err
		}
		d.Photos, err = findPhotos(ctx, tx, id)
		return err
	})
	return d, err
}

// Contact gives an official of the answering agency the reporter's name
// and phone, to reach them about the report; the look is written to the
// data-use log the reporter reads. An anonymous report has no one to show.
func (s *Service) Contact(ctx context.Context, o Official, id, purpose string) (Person, error) {
	purpose, ok := cleanText(purpose, 200)
	if !ok || purpose == "" {
		return Person{}, kernel.E(kernel.Invalid, "feedback.error.purpose")
	}
	var rep Report
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		rep, err = findReport(ctx, tx, id)
		return err
	})
	if err != nil {
		return Person{}, err
	}
	if !o.responsible(rep) {
		return Person{}, errNotStaff()
	}
	if rep.Reporter == "" {
		return Person{}, kernel.E(kernel.NotFound, "feedback.error.anonymous")
	}
	p, err := s.o.Staff.Person(ctx, rep.Reporter)
	if err != nil {
		return Person{}, err
	}
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		if err := s.o.UseLog.Record(ctx, tx, kernel.DataUse{Subject: p.CitizenID, Agency: o.Agency.Code, ReaderName: o.Agency.Name,
			Channel: "feedback.contact", Service: "feedback.reporter", Fields: []string{"full_name", "phone"},
			Purpose: "feedback.follow_up", CaseRef: id}); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "feedback.report.contact", SubjectType: "feedback_report", SubjectID: id,
			Purpose: purpose})
		return err
	})
	if err != nil {
		return Person{}, err
	}
	return p, nil
}

// Teams lists the teams a report in a commune may be assigned to: the
// rapid-response and community technology teams of the agencies serving
// the commune and its district (those with members).
func (s *Service) Teams(ctx context.Context, commune string) ([]Team, error) {
	r, err := s.references(ctx)
	if err != nil {
		return nil, err
	}
	district := r.ancestor(commune, LevelDistrict)
	var candidates []Agency
	for _, a := range r.agencies {
		if a.Unit == commune || a.Unit == district && district != "" {
			candidates = append(candidates, a)
		}
	}
	sortAgencies(candidates)
	var out []Team
	for _, a := range candidates {
		members, err := s.o.Staff.Members(ctx, a.Code)
		if err != nil {
			return nil, err
		}
		for _, role := range []string{RoleRapidResponse, RoleCommunityTech} {
			if slices.ContainsFunc(members, func(m Member) bool { return m.Role == role }) {
				out = append(out, Team{Agency: a, Role: role})
			}
		}
	}
	return out, nil
}

// Agencies lists every agency a report may be transferred to.
func (s *Service) Agencies(ctx context.Context) ([]Agency, error) {
	r, err := s.references(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Agency, 0, len(r.agencies))
	for _, a := range r.agencies {
		out = append(out, a)
	}
	sortAgencies(out)
	return out, nil
}

func sortAgencies(as []Agency) {
	slices.SortFunc(as, func(a, b Agency) int { return strings.Compare(a.Code, b.Code) })
}
