package oidc

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"civitas/internal/kernel"
)

// On PostgreSQL the refresh grants that arrive together are rotated
// together: one statement checks, spends and replaces the tokens of up to
// maxRotations requests. A statement costs the database far more than a row
// of it (parse, plan, round trip, commit), so under load this is what keeps
// the grants per second up; alone, a request waits for nothing more than
// its own statement. Each request still succeeds or fails on its own.
//
// The statement is rotateSQL (store.go).

// maxRotations bounds one statement.
const maxRotations = 64

// rotation is one refresh grant waiting for, or in, a statement.
type rotation struct {
	clientID, jkt string
	jtis          []jtiRecord
	id            int64
	secretHash    string
	next          string // the successor's secret

	fam   family
	newID int64
	err   error
}

// maxInFlight is how many statements run at once: one would leave the
// other core idle while a statement travels to the database and back.
const maxInFlight = 2

// rotator groups concurrent rotations (see kernel.Coalescer).
type rotator struct {
	p      *Provider
	groups *kernel.Coalescer[*rotation]
}

func newRotator(p *Provider) *rotator {
	r := &rotator{p: p}
	r.groups = &kernel.Coalescer[*rotation]{MaxBatch: maxRotations, MaxInFlight: maxInFlight, Run: r.run}
	return r
}

// rotate checks and rotates refresh token id on PostgreSQL. It returns the
// family and the new token, errReplay when a single-use ID was seen before,
// or errSpent for any other refusal, for the caller to find out why.
func (r *rotator) rotate(clientID string, proof *dpopProof, jtis []jtiRecord, id int64, secret string) (family, string, error) {
	rot := &rotation{clientID: clientID, jtis: jtis, id: id, secretHash: hashSecret(secret), next: kernel.NewToken()}
	if proof != nil {
		rot.jkt = proof.jkt
	}
	r.groups.Do(rot)
	if rot.err != nil {
		return family{}, "", rot.err
	}
	return rot.fam, strconv.FormatInt(rot.newID, 10) + "." + rot.next, nil
}

// run executes one statement for batch and sets each rotation's outcome.
func (r *rotator) run(batch []*rotation) {
	type key struct {
		hash    string
		expires int64
	}
	seen := make(map[key]bool)
	var b rotationBatch
	for i, rot := range batch {
		// The same single-use ID twice in one statement: the later use is
		// the replay (the database sees one insert of the key).
		replay := false
		for _, j := range rot.jtis {
			k := key{j.hash, kernel.Micros(j.expires)}
			if seen[k] {
				replay = true
			}
			seen[k] = true
		}
		if replay {
			rot.err = errReplay
			continue
		}
		for _, j := range rot.jtis {
			b.jOrds = append(b.jOrds, int32(i))
			b.jHashes = append(b.jHashes, j.hash)
			b.jExp = append(b.jExp, kernel.Micros(j.expires))
		}
		b.ords = append(b.ords, int32(i))
		b.ids = append(b.ids, rot.id)
		b.secrets = append(b.secrets, rot.secretHash)
		b.clients = append(b.clients, rot.clientID)
		b.jkts = append(b.jkts, rot.jkt)
		b.nexts = append(b.nexts, hashSecret(rot.next))
	}
	if len(b.ords) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := rotateRefreshTokens(ctx, r.p.db, &b, r.p.clock.Now())
	if err != nil {
		r.fail(batch, kernel.Wrap(err, "oidc: rotate refresh tokens"))
		return
	}
	defer rows.Close()
	done := make([]bool, len(batch))
	for rows.Next() {
		var ord int32
		var newID int64
		var fam family
		var gd string
		if err := rows.Scan(&ord, &newID, &fam.id, &fam.accountID, &gd, &fam.jkt); err != nil {
			r.fail(batch, kernel.Wrap(err, "oidc: rotate refresh tokens"))
			return
		}
		if ord < 0 || int(ord) >= len(batch) {
			continue
		}
		rot := batch[ord]
		done[ord] = true
		if newID == 0 {
			rot.err = errReplay
			continue
		}
		fam.clientID = rot.clientID
		if err := json.Unmarshal([]byte(gd), &fam.data); err != nil {
			rot.err = kernel.Wrap(err, "oidc: grant data")
			continue
		}
		rot.fam, rot.newID = fam, newID
	}
	if err := rows.Err(); err != nil {
		r.fail(batch, kernel.Wrap(err, "oidc: rotate refresh tokens"))
		return
	}
	for i, rot := range batch {
		if !done[i] && rot.err == nil {
			rot.err = errSpent
		}
	}
}

// fail gives err to every rotation of a statement that did not complete:
// nothing of it was committed.
func (r *rotator) fail(batch []*rotation, err error) {
	for _, rot := range batch {
		if rot.err == nil {
			rot.err = err
		}
		rot.newID = 0
	}
}
