package feedback

import (
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"civitas/internal/kernel"
)

// Status is where a report stands.
type Status string

// The statuses, in the order a report goes through them.
const (
	Submitted  Status = "submitted"
	Received   Status = "received"
	InProgress Status = "in_progress"
	Resolved   Status = "resolved"
	Closed     Status = "closed"
)

// Statuses lists the statuses in order.
func Statuses() []Status { return []Status{Submitted, Received, InProgress, Resolved, Closed} }

// Open reports whether the status still waits for the agency.
func (s Status) Open() bool { return s == Submitted || s == Received || s == InProgress }

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool {
	switch s {
	case Submitted, Received, InProgress, Resolved, Closed:
		return true
	}
	return false
}

// ReopenWindow is how long after its resolution (or closing by staff) a
// reporter may reopen a report that was not fixed; after it a resolved
// report closes by itself.
const ReopenWindow = 14 * 24 * time.Hour

// Limits on what a report carries.
const (
	MaxPhotos         = 5
	MaxDescription    = 2000 // characters
	MinDescription    = 5
	MaxAddress        = 300
	MaxNote           = 2000
	MaxComment        = 1000
	MaxAttributeValue = 200
)

// Category is a kind of problem, as data.
type Category struct {
	Code      string
	Names     map[string]string // by language: vi, en, ar
	Sensitive bool              // never on a public page or answer
	Deadline  time.Duration
	Position  int
	// Attributes are the questions a report of this category may answer
	// (Open311 service attributes).
	Attributes []Attribute
}

// Name returns the category's name in lang (Vietnamese when it has none).
func (c Category) Name(lang string) string {
	if n := c.Names[lang]; n != "" {
		return n
	}
	return c.Names["vi"]
}

// Attribute is a question of a category (an Open311 attribute).
type Attribute struct {
	Code        string            `json:"code"`
	Datatype    string            `json:"datatype"` // string, number, text, singlevaluelist, multivaluelist
	Required    bool              `json:"required"`
	Order       int               `json:"order"`
	Description map[string]string `json:"description"`
	Values      []AttributeValue  `json:"values,omitempty"`
}

// AttributeValue is one answer of a list attribute.
type AttributeValue struct {
	Key  string            `json:"key"`
	Name map[string]string `json:"name"`
}

// Text returns a translated text in lang, Vietnamese when it has none.
func text(m map[string]string, lang string) string {
	if s := m[lang]; s != "" {
		return s
	}
	return m["vi"]
}

// Place is where a problem is: a point, and how it was given.
type Place struct {
	Lat, Lon float64
	// Address is the citizen's words for the place; when the place was
	// given by address alone, the point is inside the commune they chose.
	Address string
	// ByAddress says the point stands for a commune rather than the spot:
	// Commune names it, and Submit picks the point inside it.
	ByAddress bool
	Commune   string
}

// Province-sized sanity bounds for coordinates: Viet Nam lies within them.
const (
	minLat, maxLat = 8.0, 24.0
	minLon, maxLon = 102.0, 110.0
)

// ValidCoordinates reports whether lat and lon are numbers within Viet Nam.
func ValidCoordinates(lat, lon float64) bool {
	if math.IsNaN(lat) || math.IsNaN(lon) || math.IsInf(lat, 0) || math.IsInf(lon, 0) {
		return false
	}
	return lat >= minLat && lat <= maxLat && lon >= minLon && lon <= maxLon
}

// Draft is a report as a citizen or an app sends it.
type Draft struct {
	Category    string
	Place       Place
	Description string
	Attributes  map[string]string
	Photos      [][]byte // as uploaded; each is decoded and re-encoded
	// Anonymous asks for a tracking code instead of the signed-in account.
	Anonymous bool
	// ContactPhone, ContactEmail reach a reporter who came through an
	// Open311 app, for notices only; never shown.
	ContactPhone, ContactEmail string
}

// Channel says how a report came in.
const (
	ChannelWeb     = "web"
	ChannelOpen311 = "open311"
	ChannelDemo    = "demo"
)

// Report is a report as stored.
type Report struct {
	ID          string
	Token       string // Open311 token
	Category    string
	Sensitive   bool
	Commune     string
	District    string
	Place       Place
	Description string
	Attributes  map[string]string
	Status      Status
	StatusNote  string // the latest public answer
	// WaitingReporter is set while staff wait for the reporter's answer.
	WaitingReporter bool
	Agency          string
	Team            string
	Handler         string // account ID of the handler
	Reporter        string // account ID, "" when anonymous
	Anonymous       bool   // followed by tracking code
	Client          string // the Open311 client that sent it
	Channel         string
	Supporters      int
	Photos          int
	CreatedAt       time.Time
	UpdatedAt       time.Time
	DueAt           time.Time
	ReceivedAt      time.Time
	ResolvedAt      time.Time
	FirstResolvedAt time.Time
	ClosedAt        time.Time
	Reopened        int
	Rating          int
	RatingComment   string
	RatedAt         time.Time

	contactPhone, contactEmail string
	trackingHash               string
}

// Overdue reports whether the report waits past its deadline at now.
func (r Report) Overdue(now time.Time) bool { return r.Status.Open() && now.After(r.DueAt) }

// ReopenUntil is when the reporter's chance to reopen ends (zero when the
// report cannot be reopened).
func (r Report) ReopenUntil() time.Time {
	if r.Rating != 0 {
		return time.Time{}
	}
	switch r.Status {
	case Resolved:
		return r.ResolvedAt.Add(ReopenWindow)
	case Closed:
		if !r.ResolvedAt.IsZero() {
			return r.ResolvedAt.Add(ReopenWindow)
		}
		return r.ClosedAt.Add(ReopenWindow)
	}
	return time.Time{}
}

// CanReopen reports whether the reporter may reopen the report at now.
func (r Report) CanReopen(now time.Time) bool {
	u := r.ReopenUntil()
	return !u.IsZero() && now.Before(u)
}

// CanRate reports whether the reporter may rate the handling now.
func (r Report) CanRate() bool {
	return r.Rating == 0 && (r.Status == Resolved || r.Status == Closed && !r.ResolvedAt.IsZero())
}

// Event kinds of the timeline.
const (
	EventSubmitted     = "submitted"
	EventReceived      = "received"
	EventAssigned      = "assigned"
	EventTransferred   = "transferred"
	EventInfoRequested = "info_requested"
	EventInfoGiven     = "info_given"
	EventAnswered      = "answered"
	EventResolved      = "resolved"
	EventReopened      = "reopened"
	EventClosed        = "closed"
	EventRated         = "rated"
	EventSupported     = "supported"
)

// Event is one step of a report's timeline.
type Event struct {
	ID      string
	At      time.Time
	Kind    string
	From    Status
	To      Status
	Public  bool
	Note    string
	Agency  string // the acting agency, "" for the reporter or the system
	Actor   kernel.Actor
	PhotoID string
}

// Photo is a stored photo's description (not its bytes).
type Photo struct {
	ID       string
	ReportID string
	Role     string // report, fix
	Position int
	Width    int
	Height   int
}

// Photo roles.
const (
	PhotoReport = "report"
	PhotoFix    = "fix"
)

// cleanText trims s and checks it is valid UTF-8 of at most max characters
// without control characters other than newlines and tabs.
func cleanText(s string, max int) (string, bool) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return "", false
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return "", false
		}
	}
	return s, true
}
