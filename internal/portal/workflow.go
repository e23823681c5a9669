package portal

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/portal/calendar"
	"civitas/internal/registry"
	"civitas/internal/tally"
)

// derivedStatus is the one status the applicant sees, from the parts.
func derivedStatus(parts []CasePart, current string) string {
	if current == StatusDraft || current == StatusWithdrawn || current == StatusClosed {
		return current
	}
	if len(parts) == 0 {
		return current
	}
	count := map[string]int{}
	for _, p := range parts {
		count[p.Status]++
	}
	n := len(parts)
	switch {
	case count[PartRefused] > 0:
		return StatusRefused
	case count[PartIssued]+count[PartCancelled] == n:
		return StatusResultIssued
	case count[PartInfo] > 0:
		return StatusInfoRequested
	case count[PartApproved]+count[PartIssued]+count[PartCancelled] == n:
		return StatusApproved
	case count[PartProcessing] > 0 || count[PartApproved]+count[PartIssued] > 0:
		return StatusProcessing
	case count[PartTransferred] > 0:
		return StatusTransferred
	case count[PartReceived] > 0:
		return StatusReceived
	}
	return StatusSubmitted
}

// official is an official acting at an agency, as the context names them,
// with their post checked against the registry of officials.
type official struct {
	account Account
	post    Post
}

// deskActor checks that the actor is an official with a post at agency
// (with one of roles, when roles is not nil).
func (s *Service) deskActor(ctx context.Context, agency string, roles []registry.Role) (official, error) {
	a := kernel.ActorFrom(ctx)
	if a.Kind != kernel.ActorOfficial || a.OnBehalfOf != "agency:"+agency {
		return official{}, kernel.E(kernel.Forbidden, "portal.error.not_official")
	}
	acct, err := s.o.Accounts.Account(ctx, a.ID)
	if err != nil || !acct.Active {
		return official{}, kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	p, err := s.post(ctx, acct.ID, agency, roles)
	if err != nil {
		return official{}, err
	}
	return official{account: acct, post: p}, nil
}

// QueueItem is a row of an agency's queue.
type QueueItem struct {
	ApplicationID string
	Part          string
	Procedure     string
	SubjectName   string
	Unit          string
	Status        string
	Due           string
	Assignee      string
	Channel       string
	SubmittedAt   time.Time
	DecidedAt     time.Time
	Overdue       bool
}

// QueueRequest asks for a page of an agency's queue.
type QueueRequest struct {
	Agency string
	Unit   string // one commune's, or "" for all the agency serves
	Done   bool   // the decided parts, newest first, instead of the open ones
	Page   kernel.Page
}

// QueuePage is a page of a queue.
type QueuePage struct {
	Items []QueueItem
	Next  string // After for the next page, "" at the end
}

// Queue is a page of the parts routed to an agency: the open ones by
// promised date, or the decided ones newest first. Keyset pagination over
// one index: a page costs the same with 200,000 applications.
func (s *Service) Queue(ctx context.Context, req QueueRequest) (QueuePage, error) {
	if _, err := s.deskActor(ctx, req.Agency, nil); err != nil {
		return QueuePage{}, err
	}
	page := req.Page.Normalize(50)
	q := `SELECT p.application_id, p.part, a.procedure, a.subject_name, p.unit_code, p.status, p.due_date, p.assignee, a.channel, a.submitted_at, p.decided_at
		FROM portal_parts p JOIN portal_applications a ON a.id = p.application_id WHERE p.agency = ?`
	args := []any{req.Agency}
	if req.Unit != "" {
		q += ` AND p.unit_code = ?`
		args = append(args, req.Unit)
	}
	after, afterID, _ := strings.Cut(page.After, "/")
	if req.Done {
		q += ` AND p.queue = 0 AND p.decided_at > 0`
		if page.After != "" {
			at, err := parseInt(after)
			if err != nil {
				return QueuePage{}, kernel.E(kernel.Invalid, "error.invalid")
			}
			q += ` AND (p.decided_at < ? OR p.decided_at = ? AND p.application_id < ?)`
			args = append(args, at, at, afterID)
		}
		q += ` ORDER BY p.decided_at DESC, p.application_id DESC`
	} else {
		q += ` AND p.queue = 1`
		if page.After != "" {
			q += ` AND (p.due_date > ? OR p.due_date = ? AND p.application_id > ?)`
			args = append(args, after, after, afterID)
		}
		q += ` ORDER BY p.due_date, p.application_id`
	}
	q += ` LIMIT ?`
	args = append(args, page.Limit+1)
	day := today(s.o.Clock.Now()).String()
	var out QueuePage
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return kernel.Wrap(err, "portal: queue")
		}
		defer rows.Close()
		for rows.Next() {
			var it QueueItem
			var submitted, decided int64
			if err := rows.Scan(&it.ApplicationID, &it.Part, &it.Procedure, &it.SubjectName, &it.Unit, &it.Status, &it.Due, &it.Assignee,
				&it.Channel, &submitted, &decided); err != nil {
				return kernel.Wrap(err, "portal: queue")
			}
			it.SubmittedAt = kernel.FromMicros(submitted)
			if decided != 0 {
				it.DecidedAt = kernel.FromMicros(decided)
			}
			it.Overdue = inQueue(it.Status) && it.Status != PartInfo && it.Due != "" && day > it.Due
			out.Items = append(out.Items, it)
		}
		return rows.Err()
	})
	if len(out.Items) > page.Limit {
		out.Items = out.Items[:page.Limit]
		last := out.Items[page.Limit-1]
		if req.Done {
			out.Next = formatInt(kernel.Micros(last.DecidedAt)) + "/" + last.ApplicationID
		} else {
			out.Next = last.Due + "/" + last.ApplicationID
		}
	}
	return out, err
}

// DeskApplication is an application as an official of an agency a part of
// it is (or was) routed to sees it; NotFound for anyone else's.
func (s *Service) DeskApplication(ctx context.Context, agency, id string) (Application, error) {
	if _, err := s.deskActor(ctx, agency, nil); err != nil {
		return Application{}, err
	}
	var a Application
	err := s.o.DB.View(ctx, func(tx *db.Tx) (err error) {
		a, err = load(ctx, tx, id)
		return err
	})
	if err != nil {
		return Application{}, err
	}
	if a.Status == StatusDraft || !slices.ContainsFunc(a.Parts, func(p CasePart) bool { return p.Agency == agency }) {
		if a.AssistedBy == kernel.ActorFrom(ctx).ID {
			return a, nil
		}
		return Application{}, errNoApplication()
	}
	a.Overdue = a.Overdue || a.OverdueOn(today(s.o.Clock.Now()).String())
	return a, nil
}

// deskChange runs fn on a part of an application routed to the agency,
// by an official of it with one of roles, in one transaction.
func (s *Service) deskChange(ctx context.Context, agency, id, part string, roles []registry.Role,
	fn func(tx *db.Tx, off official, p Procedure, pd Part, a *Application, cp *CasePart) error) (Application, error) {
	off, err := s.deskActor(ctx, agency, nil)
	if err != nil {
		return Application{}, err
	}
	var a Application
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		var err error
		if a, err = load(ctx, tx, id); err != nil {
			return err
		}
		i := slices.IndexFunc(a.Parts, func(p CasePart) bool { return p.Code == part && p.Agency == agency })
		if i < 0 {
			return errNoApplication()
		}
		p, ok := s.o.Catalogue.Procedure(a.Procedure)
		if !ok {
			return kernel.E(kernel.NotFound, "portal.error.no_procedure")
		}
		pd, _ := p.Part(part)
		if roles != nil {
			if !slices.Contains(roles, off.post.Role) {
				// The official may hold another post at the agency with the role.
				if off.post, err = s.post(ctx, off.account.ID, agency, roles); err != nil {
					return err
				}
			}
		} else if !slices.Contains(pd.Roles(), off.post.Role) {
			if off.post, err = s.post(ctx, off.account.ID, agency, pd.Roles()); err != nil {
				return err
			}
		}
		if err := fn(tx, off, p, pd, &a, &a.Parts[i]); err != nil {
			return err
		}
		a.Status = derivedStatus(a.Parts, a.Status)
		return updateApplication(ctx, tx, &a)
	})
	return a, err
}

// Receive is the agency taking a part in (tiếp nhận).
func (s *Service) Receive(ctx context.Context, agency, id, part string) (Application, error) {
	return s.deskChange(ctx, agency, id, part, nil, func(tx *db.Tx, off official, _ Procedure, _ Part, a *Application, cp *CasePart) error {
		if cp.Status != PartQueued && cp.Status != PartTransferred {
			return kernel.E(kernel.Conflict, "portal.error.wrong_state")
		}
		from := cp.Status
		cp.Status = PartReceived
		if err := updatePart(ctx, tx, cp, from); err != nil {
			return err
		}
		first := a.Status == StatusSubmitted
		if err := insertEvent(ctx, tx, a.ID, "received", cp.Code, map[string]any{"agency": agency}); err != nil {
			return err
		}
		if first {
			if err := s.notify(ctx, tx, a, "portal.notice.received", a.Due); err != nil {
				return err
			}
		}
		return s.auditDesk(ctx, tx, "portal.part.receive", a, cp, nil)
	})
}

func (s *Service) auditDesk(ctx context.Context, tx *db.Tx, action string, a *Application, cp *CasePart, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	details["part"], details["agency"] = cp.Code, cp.Agency
	return audit.Queue(ctx, tx, audit.Entry{Action: action, SubjectType: "application", SubjectID: a.ID, Purpose: "administrative_procedure", Details: details})
}

// Assign gives a part to the official for processing (to themselves).
func (s *Service) Assign(ctx context.Context, agency, id, part string) (Application, error) {
	return s.deskChange(ctx, agency, id, part, nil, func(tx *db.Tx, off official, _ Procedure, _ Part, a *Application, cp *CasePart) error {
		switch cp.Status {
		case PartQueued, PartTransferred, PartReceived, PartProcessing:
		default:
			return kernel.E(kernel.Conflict, "portal.error.wrong_state")
		}
		from := cp.Status
		cp.Status, cp.Assignee = PartProcessing, off.account.ID
		if err := updatePart(ctx, tx, cp, from); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, a.ID, "processing", cp.Code, nil); err != nil {
			return err
		}
		return s.auditDesk(ctx, tx, "portal.part.assign", a, cp, map[string]any{"assignee": off.account.ID})
	})
}

// RequestInfo asks the applicant for inputs the state does not hold (form
// fields and uploads of the procedure) and pauses the clock. An input the
// state holds is never asked for: Forbidden, naming it.
func (s *Service) RequestInfo(ctx context.Context, agency, id, part string, inputs []string, note string) (Application, error) {
	note = strings.TrimSpace(note)
	if note == "" || utf8.RuneCountInString(note) > MaxNote || !utf8.ValidString(note) {
		return Application{}, kernel.E(kernel.Invalid, "portal.error.bad_note")
	}
	if len(inputs) == 0 {
		return Application{}, kernel.E(kernel.Invalid, "portal.error.nothing_asked")
	}
	return s.deskChange(ctx, agency, id, part, nil, func(tx *db.Tx, off official, p Procedure, _ Part, a *Application, cp *CasePart) error {
		if cp.Status != PartReceived && cp.Status != PartProcessing {
			return kernel.E(kernel.Conflict, "portal.error.wrong_state")
		}
		for _, key := range inputs {
			in, ok := p.Input(key)
			if !ok {
				return kernel.E(kernel.Invalid, "portal.error.not_a_field", key)
			}
			if in.StateHeld() {
				return kernel.E(kernel.Forbidden, "portal.error.state_held", key, in.Source)
			}
		}
		from := cp.Status
		cp.Status = PartInfo
		if err := updatePart(ctx, tx, cp, from); err != nil {
			return err
		}
		a.Requested = inputs
		if a.PausedOn == "" {
			a.PausedOn = today(tx.Now).String()
		}
		if err := insertEvent(ctx, tx, a.ID, "info_requested", cp.Code, map[string]any{"inputs": inputs, "note": note}); err != nil {
			return err
		}
		if err := s.notify(ctx, tx, a, "portal.notice.info_requested", note); err != nil {
			return err
		}
		return s.auditDesk(ctx, tx, "portal.part.request_info", a, cp, map[string]any{"inputs": inputs})
	})
}

// Transfer sends a part to another agency (chuyển hồ sơ), which receives it.
func (s *Service) Transfer(ctx context.Context, agency, id, part, to, note string) (Application, error) {
	to = strings.TrimSpace(to)
	if to == agency {
		return Application{}, kernel.E(kernel.Invalid, "portal.error.same_agency")
	}
	dest, err := s.o.Registry.Agency(ctx, to)
	if err != nil {
		return Application{}, err
	}
	if utf8.RuneCountInString(note) > MaxNote || !utf8.ValidString(note) {
		return Application{}, kernel.E(kernel.Invalid, "portal.error.bad_note")
	}
	return s.deskChange(ctx, agency, id, part, nil, func(tx *db.Tx, off official, _ Procedure, pd Part, a *Application, cp *CasePart) error {
		switch cp.Status {
		case PartQueued, PartTransferred, PartReceived, PartProcessing:
		default:
			return kernel.E(kernel.Conflict, "portal.error.wrong_state")
		}
		if dest.Kind != pd.Agency.Kind {
			return kernel.E(kernel.Invalid, "portal.error.wrong_agency_kind")
		}
		from := cp.Status
		cp.Status, cp.Agency, cp.Assignee = PartTransferred, dest.Code, ""
		if err := updatePart(ctx, tx, cp, from); err != nil {
			return err
		}
		if cp.Index == 0 {
			a.Agency = dest.Code
		}
		if err := insertEvent(ctx, tx, a.ID, "transferred", cp.Code, map[string]any{"from": agency, "to": dest.Code, "note": strings.TrimSpace(note)}); err != nil {
			return err
		}
		if err := s.notify(ctx, tx, a, "portal.notice.transferred", dest.Name); err != nil {
			return err
		}
		return s.auditDesk(ctx, tx, "portal.part.transfer", a, cp, map[string]any{"to": dest.Code})
	})
}

// Apologise records a letter of apology for a late application with a new
// promised date (phiếu xin lỗi và hẹn lại ngày trả kết quả).
func (s *Service) Apologise(ctx context.Context, agency, id, part, reason, newDue string) (Application, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > MaxNote || !utf8.ValidString(reason) {
		return Application{}, kernel.E(kernel.Invalid, "portal.error.bad_note")
	}
	due, err := calendar.ParseDate(newDue)
	if err != nil || !s.o.Calendar.IsWorkingDay(due) {
		return Application{}, kernel.E(kernel.Invalid, "portal.error.bad_date")
	}
	return s.deskChange(ctx, agency, id, part, nil, func(tx *db.Tx, off official, _ Procedure, _ Part, a *Application, cp *CasePart) error {
		if !a.Open() || partFinal(cp.Status) {
			return kernel.E(kernel.Conflict, "portal.error.wrong_state")
		}
		if due <= today(tx.Now) || newDue <= a.Due {
			return kernel.E(kernel.Invalid, "portal.error.bad_date")
		}
		old := a.Due
		a.Due, a.Apologised, a.Overdue = newDue, true, false
		for i := range a.Parts {
			pt := &a.Parts[i]
			if !partFinal(pt.Status) {
				from := pt.Status
				pt.Due = newDue
				if err := updatePart(ctx, tx, pt, from); err != nil {
					return err
				}
			}
		}
		if err := insertEvent(ctx, tx, a.ID, "apology", cp.Code, map[string]any{"reason": reason, "from": old, "to": newDue, "agency": agency}); err != nil {
			return err
		}
		if err := s.notify(ctx, tx, a, "portal.notice.apology", newDue); err != nil {
			return err
		}
		tally.Add(ctx, tx, FigureApologies, a.Unit, 1)
		return s.auditDesk(ctx, tx, "portal.apology", a, cp, map[string]any{"from": old, "to": newDue})
	})
}

// HandOver records a result collected at the counter or sent by post:
// the application is closed.
func (s *Service) HandOver(ctx context.Context, agency, id string) (Application, error) {
	var part string
	if err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		parts, err := findParts(ctx, tx, id)
		if err != nil {
			return err
		}
		for _, p := range parts {
			if p.Agency == agency {
				part = p.Code
				break
			}
		}
		return nil
	}); err != nil {
		return Application{}, err
	}
	return s.deskChange(ctx, agency, id, part, nil, func(tx *db.Tx, off official, _ Procedure, _ Part, a *Application, cp *CasePart) error {
		if a.Status != StatusResultIssued {
			return kernel.E(kernel.Conflict, "portal.error.wrong_state")
		}
		a.Status = StatusClosed
		if err := insertEvent(ctx, tx, a.ID, "closed", "", map[string]any{"delivery": a.Delivery}); err != nil {
			return err
		}
		return s.auditDesk(ctx, tx, "portal.application.hand_over", a, cp, nil)
	})
}

// Lookup is an official reading a registry service about a party of an
// application, through the exchange, for the application: the read is
// logged for the person by the exchange.
func (s *Service) Lookup(ctx context.Context, agency, id, party, service string) (Answer, error) {
	a, err := s.DeskApplication(ctx, agency, id)
	if err != nil {
		return Answer{}, err
	}
	if _, ok := registryService(service); !ok {
		return Answer{}, kernel.E(kernel.Invalid, "portal.error.bad_source")
	}
	subj, ok := partyID(&a, party)
	if !ok {
		return Answer{}, kernel.E(kernel.Invalid, "portal.error.bad_source")
	}
	ans, err := s.o.Exchange.Query(ctx, Query{Service: service, Subject: subj, Purpose: "administrative_procedure", CaseRef: a.ID})
	if err != nil {
		return Answer{}, err
	}
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		return audit.Queue(ctx, tx, audit.Entry{Action: "portal.lookup", SubjectType: "application", SubjectID: a.ID, Purpose: "administrative_procedure",
			Details: map[string]any{"service": service, "party": party, "agency": agency, "records": len(ans.Records)}})
	})
	return ans, err
}

// Flags lists the open reports of registry errors addressed to an agency.
func (s *Service) Flags(ctx context.Context, agency string, limit int) ([]Flag, error) {
	if _, err := s.deskActor(ctx, agency, nil); err != nil {
		return nil, err
	}
	var out []Flag
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+flagColumns+` FROM portal_flags WHERE provider = ? AND status = 'open' ORDER BY created_at, id LIMIT ?`,
			agency, min(max(limit, 1), 200))
		if err != nil {
			return kernel.Wrap(err, "portal: flags")
		}
		out, err = scanFlags(rows)
		return err
	})
	return out, err
}

// FlagsOf lists the reports made on an application.
func (s *Service) FlagsOf(ctx context.Context, id string) ([]Flag, error) {
	if _, err := s.viewable(ctx, id); err != nil {
		return nil, err
	}
	var out []Flag
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+flagColumns+` FROM portal_flags WHERE application_id = ? ORDER BY created_at, id`, id)
		if err != nil {
			return kernel.Wrap(err, "portal: flags")
		}
		out, err = scanFlags(rows)
		return err
	})
	return out, err
}

// CloseFlag is the source agency marking a report dealt with.
func (s *Service) CloseFlag(ctx context.Context, agency, flagID string) error {
	if _, err := s.deskActor(ctx, agency, nil); err != nil {
		return err
	}
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE portal_flags SET status = 'closed' WHERE id = ? AND provider = ? AND status = 'open'`, flagID, agency)
		if err != nil {
			return kernel.Wrap(err, "portal: flag")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return kernel.E(kernel.NotFound, "portal.error.no_flag")
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "portal.flag.close", SubjectType: "flag", SubjectID: flagID, Details: map[string]any{"agency": agency}})
	})
}

// release queues the waiting parts whose parts before are all approved.
func release(ctx context.Context, tx *db.Tx, p Procedure, a *Application) error {
	done := map[string]bool{}
	for _, cp := range a.Parts {
		if cp.Status == PartApproved || cp.Status == PartIssued {
			done[cp.Code] = true
		}
	}
	for i := range a.Parts {
		cp := &a.Parts[i]
		if cp.Status != PartWaiting {
			continue
		}
		pd, _ := p.Part(cp.Code)
		ready := true
		for _, b := range pd.After {
			ready = ready && done[b]
		}
		if ready {
			cp.Status = PartQueued
			if err := updatePart(ctx, tx, cp, PartWaiting); err != nil {
				return err
			}
			if err := insertEvent(ctx, tx, a.ID, "routed", cp.Code, map[string]any{"agency": cp.Agency}); err != nil {
				return err
			}
		}
	}
	return nil
}

// finish records a finished application: its processing time, whether it
// was on time, and the figures; the applicant is told.
func (s *Service) finish(ctx context.Context, tx *db.Tx, a *Application) error {
	a.FinishedAt = tx.Now
	submitted := today(a.SubmittedAt)
	finished := today(tx.Now)
	days := s.o.Calendar.WorkingDaysBetween(submitted, finished)
	onTime := a.Due == "" || finished.String() <= a.Due
	o := outcome{app: a.ID, unit: a.Unit, procedure: a.Procedure, channel: a.Channel, outcome: a.Status, paperless: a.Paperless, onTime: onTime,
		submitted: submitted.String(), finished: finished.String(), days: days}
	if err := insertOutcome(ctx, tx, o); err != nil {
		return err
	}
	tally.Add(ctx, tx, FigureOpen, a.Unit, -1)
	tally.Add(ctx, tx, FigureDecided, a.Unit, 1)
	tally.Add(ctx, tx, FigureProcessingDays, a.Unit, int64(days))
	if onTime {
		tally.Add(ctx, tx, FigureOnTime, a.Unit, 1)
	}
	if a.Status == StatusRefused {
		tally.Add(ctx, tx, FigureRefused, a.Unit, 1)
		return s.notify(ctx, tx, a, "portal.notice.refused", a.Reason)
	}
	if err := insertEvent(ctx, tx, a.ID, "result_issued", "", map[string]any{"working_days": days, "on_time": onTime}); err != nil {
		return err
	}
	if err := s.notify(ctx, tx, a, "portal.notice.result_issued"); err != nil {
		return err
	}
	if a.Delivery == DeliveryWallet {
		// In the wallet is delivered: nothing is left to collect.
		a.Status = StatusClosed
		return insertEvent(ctx, tx, a.ID, "closed", "", map[string]any{"delivery": a.Delivery})
	}
	return nil
}

// MarkOverdue flags the open applications past their promised date (once
// each) and counts them; it runs as a job every few minutes.
func (s *Service) MarkOverdue(ctx context.Context) (int, error) {
	ctx = kernel.WithActor(ctx, kernel.System("portal.deadlines"))
	day := today(s.o.Clock.Now()).String()
	var ids []string
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM portal_applications WHERE due_date <> '' AND due_date < ? AND overdue = 0 AND paused_on = ''
			AND status IN (?, ?, ?, ?, ?, ?) ORDER BY due_date LIMIT 500`, day,
			StatusSubmitted, StatusReceived, StatusProcessing, StatusTransferred, StatusApproved, StatusInfoRequested)
		if err != nil {
			return kernel.Wrap(err, "portal: overdue")
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
			a, err := findApplication(ctx, tx, id)
			if err != nil {
				return err
			}
			if a.Overdue || !a.OverdueOn(day) {
				return nil
			}
			a.Overdue = true
			tally.Add(ctx, tx, FigureOverdue, a.Unit, 1)
			if err := insertEvent(ctx, tx, a.ID, "overdue", "", map[string]any{"due": a.Due}); err != nil {
				return err
			}
			n++
			return updateApplication(ctx, tx, &a)
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
