package signing

import (
	"sync"
	"time"
)

// approvals keeps, in memory, what SignHash decides with for the SADs this
// instance just minted (Approve, HandOff): the request, its credential and
// its approved hashes, by the SAD's hash. The holder's approval and the
// application's call come seconds apart and most often to the same
// instance, so the call then signs without reading the database first —
// the read that made every single-hash call queue for a reader connection.
//
// It decides nothing alone: a SAD not found here is read from the
// database, and the write that uses the SAD up checks again, in the
// database, that the request is approved with this SAD, unexpired, and its
// credential active. An entry goes when it is taken or expires; the map is
// bounded, and when full new approvals are simply not kept.
type approvals struct {
	mu sync.Mutex
	m  map[string]signingState
}

// maxApprovals bounds the entries (a few hundred bytes each).
const maxApprovals = 10_000

func (a *approvals) put(sadHash string, st signingState, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = make(map[string]signingState)
	}
	if len(a.m) >= maxApprovals {
		for k, v := range a.m {
			if !now.Before(v.sadExpires) {
				delete(a.m, k)
			}
		}
		if len(a.m) >= maxApprovals {
			return
		}
	}
	a.m[sadHash] = st
}

// take removes and returns the entry of a SAD still valid at now.
func (a *approvals) take(sadHash string, now time.Time) (signingState, bool) {
	a.mu.Lock()
	st, ok := a.m[sadHash]
	delete(a.m, sadHash)
	a.mu.Unlock()
	if !ok || !now.Before(st.sadExpires) {
		return signingState{}, false
	}
	return st, true
}
