package kernel

// Page asks for one page of a listing ordered by a unique key: items after
// the key After, at most Limit of them.
type Page struct {
	After string
	Limit int
}

// MaxPageLimit caps every listing.
const MaxPageLimit = 1000

// Normalize returns p with Limit within 1..MaxPageLimit (def when unset).
func (p Page) Normalize(def int) Page {
	if p.Limit <= 0 {
		p.Limit = def
	}
	if p.Limit > MaxPageLimit {
		p.Limit = MaxPageLimit
	}
	return p
}
