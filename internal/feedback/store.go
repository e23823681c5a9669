package feedback

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// The SQL of feedback: each helper runs inside its caller's transaction.

func findCategories(ctx context.Context, tx *db.Tx) ([]Category, error) {
	rows, err := tx.Query(ctx, `SELECT code, name_vi, name_en, name_ar, sensitive, deadline_hours, position, attributes
		FROM feedback_categories WHERE active = 1 ORDER BY position, code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Category
	for rows.Next() {
		var c Category
		var vi, en, ar, attrs string
		var sensitive, hours int
		if err := rows.Scan(&c.Code, &vi, &en, &ar, &sensitive, &hours, &c.Position, &attrs); err != nil {
			return nil, err
		}
		c.Names = map[string]string{"vi": vi, "en": en, "ar": ar}
		c.Sensitive = sensitive != 0
		c.Deadline = time.Duration(hours) * time.Hour
		if attrs != "" {
			if err := json.Unmarshal([]byte(attrs), &c.Attributes); err != nil {
				return nil, err
			}
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func findRules(ctx context.Context, tx *db.Tx) ([]Rule, error) {
	rows, err := tx.Query(ctx, `SELECT id, category, unit, agency, agency_kind, agency_level FROM feedback_rules ORDER BY category, unit`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Rule
	for rows.Next() {
		var r Rule
		if err := rows.Scan(&r.ID, &r.Category, &r.Unit, &r.Agency, &r.AgencyKind, &r.AgencyLevel); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func upsertRule(ctx context.Context, tx *db.Tx, r Rule) error {
	_, err := tx.Exec(ctx, `INSERT INTO feedback_rules (id, category, unit, agency, agency_kind, agency_level, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (category, unit) DO UPDATE SET agency = excluded.agency, agency_kind = excluded.agency_kind, agency_level = excluded.agency_level`,
		r.ID, r.Category, r.Unit, r.Agency, r.AgencyKind, r.AgencyLevel, kernel.Micros(tx.Now))
	return err
}

// reportColumns are the columns scanReport reads, in order.
const reportColumns = `id, token, tracking_hash, category, sensitive, commune, district, lat, lon, located, address, description, attributes,
	status, status_note, waiting_reporter, agency, team, handler, reporter, contact_phone, contact_email, client, channel, supporters, photos,
	created_at, updated_at, due_at, received_at, resolved_at, first_resolved_at, closed_at, reopened, rating, rating_comment, rated_at`

type scanner interface{ Scan(dest ...any) error }

func scanReport(sc scanner) (Report, error) {
	var r Report
	var tracking, located, attrs, status string
	var sensitive, waiting int
	var created, updated, due, received, resolved, firstResolved, closed, rated int64
	err := sc.Scan(&r.ID, &r.Token, &tracking, &r.Category, &sensitive, &r.Commune, &r.District, &r.Place.Lat, &r.Place.Lon, &located,
		&r.Place.Address, &r.Description, &attrs, &status, &r.StatusNote, &waiting, &r.Agency, &r.Team, &r.Handler, &r.Reporter,
		&r.contactPhone, &r.contactEmail, &r.Client, &r.Channel, &r.Supporters, &r.Photos,
		&created, &updated, &due, &received, &resolved, &firstResolved, &closed, &r.Reopened, &r.Rating, &r.RatingComment, &rated)
	if err != nil {
		return r, err
	}
	r.Anonymous, r.trackingHash = tracking != "", tracking
	r.Sensitive = sensitive != 0
	r.Place.ByAddress = located == "address"
	r.Status = Status(status)
	r.WaitingReporter = waiting != 0
	if attrs != "" {
		if err := json.Unmarshal([]byte(attrs), &r.Attributes); err != nil {
			return r, err
		}
	}
	r.CreatedAt, r.UpdatedAt, r.DueAt = kernel.FromMicros(created), kernel.FromMicros(updated), kernel.FromMicros(due)
	r.ReceivedAt, r.ResolvedAt, r.FirstResolvedAt = optTime(received), optTime(resolved), optTime(firstResolved)
	r.ClosedAt, r.RatedAt = optTime(closed), optTime(rated)
	return r, nil
}

func optTime(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return kernel.FromMicros(us)
}

func optMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return kernel.Micros(t)
}

func errNoReport() error { return kernel.E(kernel.NotFound, "feedback.error.no_report") }

// findReport reads a report; a missing one is NotFound.
func findReport(ctx context.Context, tx *db.Tx, id string) (Report, error) {
	r, err := scanReport(tx.QueryRow(ctx, `SELECT `+reportColumns+` FROM feedback_reports WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, errNoReport()
	}
	if err != nil {
		return r, kernel.Wrap(err, "feedback: read report")
	}
	return r, nil
}

// findReportByTracking reads the report a tracking code's hash follows.
func findReportByTracking(ctx context.Context, tx *db.Tx, hash string) (Report, error) {
	r, err := scanReport(tx.QueryRow(ctx, `SELECT `+reportColumns+` FROM feedback_reports WHERE tracking_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return r, errNoReport()
	}
	if err != nil {
		return r, kernel.Wrap(err, "feedback: read report")
	}
	return r, nil
}

func findReportByToken(ctx context.Context, tx *db.Tx, token string) (Report, error) {
	r, err := scanReport(tx.QueryRow(ctx, `SELECT `+reportColumns+` FROM feedback_reports WHERE token = ?`, token))
	if errors.Is(err, sql.ErrNoRows) {
		return r, errNoReport()
	}
	if err != nil {
		return r, kernel.Wrap(err, "feedback: read report")
	}
	return r, nil
}

func queryReports(ctx context.Context, tx *db.Tx, where string, args ...any) ([]Report, error) {
	rows, err := tx.Query(ctx, `SELECT `+reportColumns+` FROM feedback_reports WHERE `+where, args...)
	if err != nil {
		return nil, kernel.Wrap(err, "feedback: list reports")
	}
	defer rows.Close()
	var out []Report
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, kernel.Wrap(err, "feedback: list reports")
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, kernel.Wrap(err, "feedback: list reports")
	}
	return out, nil
}

func insertReport(ctx context.Context, tx *db.Tx, r Report, trackingHash string) error {
	var attrs string
	if len(r.Attributes) > 0 {
		b, err := json.Marshal(r.Attributes)
		if err != nil {
			return err
		}
		attrs = string(b)
	}
	located := "point"
	if r.Place.ByAddress {
		located = "address"
	}
	_, err := tx.Exec(ctx, `INSERT INTO feedback_reports (id, token, tracking_hash, category, sensitive, commune, district, lat, lon, located,
		address, description, attributes, status, agency, reporter, contact_phone, contact_email, client, channel, photos, created_at, updated_at, due_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Token, trackingHash, r.Category, boolInt(r.Sensitive), r.Commune, r.District, r.Place.Lat, r.Place.Lon, located,
		r.Place.Address, r.Description, attrs, string(r.Status), r.Agency, r.Reporter, r.contactPhone, r.contactEmail, r.Client, r.Channel,
		r.Photos, kernel.Micros(r.CreatedAt), kernel.Micros(r.UpdatedAt), kernel.Micros(r.DueAt))
	return err
}

// updateReport writes the handling fields of r, provided the row still
// has the status and update time read (the step was decided on them);
// otherwise a Conflict.
func updateReport(ctx context.Context, tx *db.Tx, r Report, was Report) error {
	res, err := tx.Exec(ctx, `UPDATE feedback_reports SET status = ?, status_note = ?, waiting_reporter = ?, agency = ?, team = ?, handler = ?,
		supporters = ?, photos = ?, updated_at = ?, due_at = ?, received_at = ?, resolved_at = ?, first_resolved_at = ?, closed_at = ?, reopened = ?,
		rating = ?, rating_comment = ?, rated_at = ?
		WHERE id = ? AND status = ? AND updated_at = ?`,
		string(r.Status), r.StatusNote, boolInt(r.WaitingReporter), r.Agency, r.Team, r.Handler, r.Supporters, r.Photos,
		kernel.Micros(r.UpdatedAt), kernel.Micros(r.DueAt), optMicros(r.ReceivedAt), optMicros(r.ResolvedAt), optMicros(r.FirstResolvedAt),
		optMicros(r.ClosedAt), r.Reopened, r.Rating, r.RatingComment, optMicros(r.RatedAt),
		r.ID, string(was.Status), kernel.Micros(was.UpdatedAt))
	if err != nil {
		return kernel.Wrap(err, "feedback: update report")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return kernel.E(kernel.Conflict, "feedback.error.changed")
	}
	return nil
}

func insertEvent(ctx context.Context, tx *db.Tx, reportID string, e Event) error {
	_, err := tx.Exec(ctx, `INSERT INTO feedback_events (id, report_id, seq, at, kind, from_status, to_status, public, note, agency, actor_kind, actor_id, photo_id)
		SELECT ?, ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM feedback_events WHERE report_id = ?`,
		e.ID, reportID, kernel.Micros(e.At), e.Kind, string(e.From), string(e.To), boolInt(e.Public), e.Note, e.Agency,
		string(e.Actor.Kind), e.Actor.ID, e.PhotoID, reportID)
	return err
}

func findEvents(ctx context.Context, tx *db.Tx, reportID string, publicOnly bool) ([]Event, error) {
	q := `SELECT id, at, kind, from_status, to_status, public, note, agency, actor_kind, actor_id, photo_id FROM feedback_events WHERE report_id = ?`
	if publicOnly {
		q += ` AND public = 1`
	}
	rows, err := tx.Query(ctx, q+` ORDER BY seq`, reportID)
	if err != nil {
		return nil, kernel.Wrap(err, "feedback: read timeline")
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		var from, to, kind string
		var public int
		if err := rows.Scan(&e.ID, &at, &e.Kind, &from, &to, &public, &e.Note, &e.Agency, &kind, &e.Actor.ID, &e.PhotoID); err != nil {
			return nil, kernel.Wrap(err, "feedback: read timeline")
		}
		e.At, e.From, e.To, e.Public, e.Actor.Kind = kernel.FromMicros(at), Status(from), Status(to), public != 0, kernel.ActorKind(kind)
		out = append(out, e)
	}
	return out, rows.Err()
}

func insertPhoto(ctx context.Context, tx *db.Tx, p Photo, image, thumb []byte) error {
	_, err := tx.Exec(ctx, `INSERT INTO feedback_photos (id, report_id, role, position, width, height, image, thumb, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.ID, p.ReportID, p.Role, p.Position, p.Width, p.Height, image, thumb, kernel.Micros(tx.Now))
	return err
}

func findPhotos(ctx context.Context, tx *db.Tx, reportID string) ([]Photo, error) {
	rows, err := tx.Query(ctx, `SELECT id, role, position, width, height FROM feedback_photos WHERE report_id = ? ORDER BY position`, reportID)
	if err != nil {
		return nil, kernel.Wrap(err, "feedback: read photos")
	}
	defer rows.Close()
	var out []Photo
	for rows.Next() {
		p := Photo{ReportID: reportID}
		if err := rows.Scan(&p.ID, &p.Role, &p.Position, &p.Width, &p.Height); err != nil {
			return nil, kernel.Wrap(err, "feedback: read photos")
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// findPhotoBytes reads a photo (thumb: its thumbnail) and the report it
// belongs to.
func findPhotoBytes(ctx context.Context, tx *db.Tx, id string, thumb bool) ([]byte, string, error) {
	col := "image"
	if thumb {
		col = "thumb"
	}
	var b []byte
	var report string
	err := tx.QueryRow(ctx, `SELECT `+col+`, report_id FROM feedback_photos WHERE id = ?`, id).Scan(&b, &report)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", kernel.E(kernel.NotFound, "feedback.error.no_photo")
	}
	if err != nil {
		return nil, "", kernel.Wrap(err, "feedback: read photo")
	}
	return b, report, nil
}

// firstPhotos returns the first report photo of each report named.
func firstPhotos(ctx context.Context, tx *db.Tx, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := tx.Query(ctx, `SELECT report_id, id FROM feedback_photos WHERE role = 'report' AND position = 0 AND report_id IN (?`+
		strings.Repeat(",?", len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, kernel.Wrap(err, "feedback: read photos")
	}
	defer rows.Close()
	for rows.Next() {
		var rid, pid string
		if err := rows.Scan(&rid, &pid); err != nil {
			return nil, kernel.Wrap(err, "feedback: read photos")
		}
		out[rid] = pid
	}
	return out, rows.Err()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
