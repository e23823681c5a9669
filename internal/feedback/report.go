package feedback

import (
	"context"
	"crypto/rand"
	"log/slog"
	"math"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// Origin says where a report comes from.
type Origin struct {
	Channel string // ChannelWeb, ChannelOpen311, ChannelDemo
	Client  string // the Open311 client's ID
	// Addr is the client's network address: anonymous reports are
	// limited per address.
	Addr string
}

// Receipt is what the reporter gets back.
type Receipt struct {
	Report Report
	// TrackingCode follows an anonymous report; it is shown once and
	// kept only as a hash.
	TrackingCode string
}

// trackingAlphabet leaves out characters read alike (0 O 1 I L).
const trackingAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// newTrackingCode returns 12 characters (about 59 bits) as XXXX-XXXX-XXXX.
func newTrackingCode() string {
	var b [12]byte
	out := make([]byte, 0, 14)
	for i := range b {
		if i > 0 && i%4 == 0 {
			out = append(out, '-')
		}
		out = append(out, trackingAlphabet[randIndex(len(trackingAlphabet))])
	}
	return string(out)
}

func randIndex(n int) int {
	var b [1]byte
	for {
		_, _ = rand.Read(b[:])
		if int(b[0]) < 256-256%n {
			return int(b[0]) % n
		}
	}
}

// normalizeTrackingCode accepts a code typed in any case, with or without
// its dashes and with spaces.
func normalizeTrackingCode(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ':
		case r < utf8.RuneSelf && strings.IndexByte(trackingAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	c := b.String()
	if len(c) != 12 {
		return "", false
	}
	return c[:4] + "-" + c[4:8] + "-" + c[8:], true
}

// reporterOf returns the account a report is sent from: the signed-in
// citizen, unless they ask to stay anonymous.
func reporterOf(ctx context.Context, anonymous bool) string {
	a := kernel.ActorFrom(ctx)
	if anonymous || a.Kind != kernel.ActorCitizen || a.ID == "" {
		return ""
	}
	return a.ID
}

// checkDraft validates what a draft says, against the category it names.
func checkDraft(d *Draft, c *Category) error {
	if !d.Place.ByAddress && !ValidCoordinates(d.Place.Lat, d.Place.Lon) {
		return kernel.E(kernel.Invalid, "feedback.error.coordinates")
	}
	desc, ok := cleanText(d.Description, MaxDescription)
	if !ok || utf8.RuneCountInString(desc) < MinDescription {
		return kernel.E(kernel.Invalid, "feedback.error.description", MinDescription, MaxDescription)
	}
	d.Description = desc
	addr, ok := cleanText(d.Place.Address, MaxAddress)
	if !ok || strings.ContainsAny(addr, "\n\t") {
		return kernel.E(kernel.Invalid, "feedback.error.address", MaxAddress)
	}
	if d.Place.ByAddress && addr == "" {
		return kernel.E(kernel.Invalid, "feedback.error.address", MaxAddress)
	}
	d.Place.Address = addr
	if len(d.Photos) > MaxPhotos {
		return kernel.E(kernel.Invalid, "feedback.error.photo_count", MaxPhotos)
	}
	for k, v := range d.Attributes {
		i := slices.IndexFunc(c.Attributes, func(a Attribute) bool { return a.Code == k })
		if i < 0 {
			return kernel.E(kernel.Invalid, "feedback.error.attribute", k)
		}
		a := c.Attributes[i]
		v, ok := cleanText(v, MaxAttributeValue)
		if !ok {
			return kernel.E(kernel.Invalid, "feedback.error.attribute", k)
		}
		switch a.Datatype {
		case "singlevaluelist":
			if v != "" && !slices.ContainsFunc(a.Values, func(av AttributeValue) bool { return av.Key == v }) {
				return kernel.E(kernel.Invalid, "feedback.error.attribute", k)
			}
		case "multivaluelist":
			for part := range strings.SplitSeq(v, ",") {
				if !slices.ContainsFunc(a.Values, func(av AttributeValue) bool { return av.Key == part }) {
					return kernel.E(kernel.Invalid, "feedback.error.attribute", k)
				}
			}
		case "number":
			if f, err := strconv.ParseFloat(v, 64); v != "" && (err != nil || math.IsNaN(f) || math.IsInf(f, 0)) {
				return kernel.E(kernel.Invalid, "feedback.error.attribute", k)
			}
		}
		if v == "" {
			delete(d.Attributes, k)
		} else {
			d.Attributes[k] = v
		}
	}
	for _, a := range c.Attributes {
		if a.Required && d.Attributes[a.Code] == "" {
			return kernel.E(kernel.Invalid, "feedback.error.attribute_required", a.Code)
		}
	}
	if d.ContactPhone != "" {
		p := strings.NewReplacer(" ", "", ".", "", "-", "").Replace(d.ContactPhone)
		p = strings.TrimPrefix(p, "+")
		if len(p) < 9 || len(p) > 15 || strings.Trim(p, "0123456789") != "" {
			return kernel.E(kernel.Invalid, "feedback.error.phone")
		}
		d.ContactPhone = p
	}
	if d.ContactEmail != "" {
		a, err := mail.ParseAddress(d.ContactEmail)
		if err != nil || len(a.Address) > 200 {
			return kernel.E(kernel.Invalid, "feedback.error.email")
		}
		d.ContactEmail = a.Address
	}
	return nil
}

// Submit records a report: it checks it, finds its commune and the agency
// that answers it, makes its photos safe, and writes it with its first step
// and the figures. A signed-in citizen (the actor in ctx) reports as
// themselves unless d.Anonymous; anyone else is anonymous, limited per
// client, and gets a tracking code (an Open311 app follows its reports by
// their IDs instead).
func (s *Service) Submit(ctx context.Context, d Draft, o Origin) (Receipt, error) {
	r, err := s.references(ctx)
	if err != nil {
		return Receipt{}, err
	}
	now := s.o.Clock.Now()
	reporter := reporterOf(ctx, d.Anonymous)
	switch {
	case o.Channel == ChannelOpen311:
		if !s.apps.allow("app:"+o.Client, now) {
			return Receipt{}, errTooMany()
		}
	case o.Channel == ChannelDemo:
	case reporter != "":
		if !s.limits.allow("acct:"+reporter, now) {
			return Receipt{}, errTooMany()
		}
	default:
		if !s.limits.allow("addr:"+o.Addr, now) {
			return Receipt{}, errTooMany()
		}
	}
	c, err := r.category(d.Category)
	if err != nil {
		return Receipt{}, err
	}
	if d.Attributes == nil {
		d.Attributes = map[string]string{}
	}
	if err := checkDraft(&d, c); err != nil {
		return Receipt{}, err
	}
	var commune string
	if d.Place.ByAddress {
		commune = d.Place.Commune
		u, ok := r.units[commune]
		if !ok || u.Level != LevelCommune {
			return Receipt{}, kernel.E(kernel.Invalid, "feedback.error.unit")
		}
		pt, ok := s.pins.inside(ctx, commune)
		if !ok {
			return Receipt{}, kernel.E(kernel.Invalid, "feedback.error.unit")
		}
		d.Place.Lat, d.Place.Lon = pt[1], pt[0]
	} else {
		u, err := s.o.Units.UnitAt(ctx, d.Place.Lat, d.Place.Lon)
		if kernel.ErrorCode(err) == kernel.NotFound {
			return Receipt{}, kernel.E(kernel.Invalid, "feedback.error.outside").WithCause(err)
		}
		if err != nil {
			return Receipt{}, err
		}
		commune = u.Code
	}
	agency, ok := r.routes[routeKey{c.Code, commune}]
	if !ok {
		return Receipt{}, kernel.E(kernel.Invalid, "feedback.error.no_route")
	}
	photos := make([]processedPhoto, 0, len(d.Photos))
	for _, b := range d.Photos {
		p, err := s.photos.Process(ctx, b)
		if err != nil {
			return Receipt{}, err
		}
		photos = append(photos, p)
	}
	d.Photos = nil
	rep := Report{ID: kernel.NewOrderedID(now), Token: kernel.NewOrderedID(now), Category: c.Code, Sensitive: c.Sensitive,
		Commune: commune, District: r.ancestor(commune, LevelDistrict), Place: d.Place, Description: d.Description,
		Attributes: d.Attributes, Status: Submitted, Agency: agency, Reporter: reporter, Client: o.Client, Channel: o.Channel,
		Photos: len(photos), CreatedAt: now.Truncate(1e3), UpdatedAt: now.Truncate(1e3), DueAt: now.Add(c.Deadline).Truncate(1e3),
		contactPhone: d.ContactPhone, contactEmail: d.ContactEmail}
	rec := Receipt{Report: rep}
	hash := ""
	if reporter == "" && o.Channel == ChannelWeb {
		rec.TrackingCode = newTrackingCode()
		hash = hashSecret(rec.TrackingCode)
		rec.Report.Anonymous = true
	}
	err = s.o.DB.Batch(ctx, now, func(tx *db.Tx) error {
		if err := insertReport(ctx, tx, rep, hash); err != nil {
			return kernel.Wrap(err, "feedback: insert report")
		}
		for i, p := range photos {
			ph := Photo{ID: kernel.NewID(), ReportID: rep.ID, Role: PhotoReport, Position: i, Width: p.Width, Height: p.Height}
			if err := insertPhoto(ctx, tx, ph, p.Image, p.Thumb); err != nil {
				return kernel.Wrap(err, "feedback: insert photo")
			}
		}
		ev := Event{ID: kernel.NewOrderedID(now), At: tx.Now, Kind: EventSubmitted, From: "", To: Submitted, Public: true,
			Actor: actorOf(ctx)}
		if err := insertEvent(ctx, tx, rep.ID, ev); err != nil {
			return kernel.Wrap(err, "feedback: insert event")
		}
		tally.Add(ctx, tx, IndicatorReceived, commune, 1)
		tally.Add(ctx, tx, IndicatorOpen, commune, 1)
		if err := s.notify(ctx, tx, rep, "feedback.notice.submitted", shortRef(rep.ID), r.agencyName(agency)); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "feedback.report.submit", SubjectType: "feedback_report", SubjectID: rep.ID,
			Details: map[string]any{"category": c.Code, "commune": commune, "agency": agency, "channel": o.Channel, "photos": len(photos)}})
	})
	if err != nil {
		return Receipt{}, err
	}
	s.pins.put(rep)
	return rec, nil
}

// actorOf is the acting party recorded on a step: whoever ctx names.
func actorOf(ctx context.Context) kernel.Actor { return kernel.ActorFrom(ctx) }

// shortRef is how a report is named in messages: the end of its ID, which
// is random (the start is its time).
func shortRef(id string) string {
	if len(id) < 8 {
		return strings.ToUpper(id)
	}
	return strings.ToUpper(id[len(id)-8:])
}

// notify tells the reporter of a step, when they can be reached.
func (s *Service) notify(ctx context.Context, tx *db.Tx, rep Report, template string, args ...string) error {
	if s.o.Notifier == nil {
		return nil
	}
	n := Notice{Template: template, Args: args}
	switch {
	case rep.Reporter != "":
		n.AccountID = rep.Reporter
	case rep.contactPhone != "":
		n.Phone = rep.contactPhone
	case rep.contactEmail != "":
		n.Email = rep.contactEmail
	default:
		return nil
	}
	err := s.o.Notifier.Notify(ctx, tx, n)
	if err != nil && kernel.ErrorCode(err) != kernel.Internal {
		// A reporter who cannot be reached (a phone the SMS gateway
		// refuses) still has their report and its page.
		s.o.Logger.Info("feedback: reporter not notified", slog.String("report", rep.ID), slog.String("code", string(kernel.ErrorCode(err))))
		return nil
	}
	return err
}
