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
// The statement, per request (ord): record its single-use IDs (a key
// already present makes that request a replay and nothing else of it
// happens); spend the token if the secret matches, it is unspent and its
// family stands, belongs to the client, has not expired and is bound to
// this DPoP key; insert the successor only if the spend happened. Two
// requests spending one token (even in the same statement) cannot both
// win: the row is updated once, and a concurrent statement waits for its
// lock and then finds it spent.
const rotateSQL = `WITH req AS (
	SELECT * FROM unnest(?::int[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[])
		AS r(ord, id, secret_hash, client_id, jkt, next_hash)
), jin AS (
	SELECT * FROM unnest(?::int[], ?::text[], ?::bigint[]) AS j(ord, jti_hash, expires_at)
), j AS (
	INSERT INTO oidc_jti (jti_hash, expires_at) SELECT jti_hash, expires_at FROM jin
	ON CONFLICT DO NOTHING RETURNING jti_hash, expires_at
), replayed AS (
	SELECT DISTINCT jin.ord FROM jin
	WHERE NOT EXISTS (SELECT 1 FROM j WHERE j.jti_hash = jin.jti_hash AND j.expires_at = jin.expires_at)
), u AS (
	UPDATE oidc_refresh t SET used_at = ? FROM req r, oidc_families f
	WHERE t.id = r.id AND t.secret_hash = r.secret_hash AND t.used_at = 0
		AND f.id = t.family_id AND f.revoked_at = 0 AND f.expires_at > ? AND f.client_id = r.client_id
		AND (f.dpop_jkt = '' OR f.dpop_jkt = r.jkt)
		AND NOT EXISTS (SELECT 1 FROM replayed WHERE replayed.ord = r.ord)
	RETURNING r.ord, f.id AS family_id, f.account_id, f.grant_data, f.dpop_jkt, r.next_hash
), n AS (
	INSERT INTO oidc_refresh (secret_hash, family_id, created_at) SELECT next_hash, family_id, ? FROM u
	RETURNING id, secret_hash
)
SELECT u.ord, n.id, u.family_id, u.account_id, u.grant_data, u.dpop_jkt FROM u JOIN n ON n.secret_hash = u.next_hash
UNION ALL
SELECT ord, 0, '', '', '', '' FROM replayed`

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
	var ords, jOrds []int32
	var ids, jExp []int64
	var secrets, clients, jkts, nexts, jHashes []string
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
			jOrds = append(jOrds, int32(i))
			jHashes = append(jHashes, j.hash)
			jExp = append(jExp, kernel.Micros(j.expires))
		}
		ords = append(ords, int32(i))
		ids = append(ids, rot.id)
		secrets = append(secrets, rot.secretHash)
		clients = append(clients, rot.clientID)
		jkts = append(jkts, rot.jkt)
		nexts = append(nexts, hashSecret(rot.next))
	}
	if len(ords) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := kernel.Micros(r.p.clock.Now())
	rows, err := r.p.db.QueryRelaxed(ctx, rotateSQL, ords, ids, secrets, clients, jkts, nexts, jOrds, jHashes, jExp, now, now, now)
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
