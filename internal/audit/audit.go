package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Entry is what a service records about a change.
type Entry struct {
	Action      string // dotted verb, e.g. "account.upgrade", "demo.load"
	SubjectType string // e.g. "person", "account", "document"
	SubjectID   string
	Purpose     string // why, for reads of personal data and official acts
	Details     any    // marshalled to JSON; identifiers and counts, no personal data
}

// Record is an entry as stored, with its place in the chain.
type Record struct {
	Seq         int64     `json:"seq"`
	At          time.Time `json:"at"`
	ActorKind   string    `json:"actor_kind"`
	ActorID     string    `json:"actor_id"`
	OnBehalfOf  string    `json:"on_behalf_of,omitempty"`
	Action      string    `json:"action"`
	SubjectType string    `json:"subject_type"`
	SubjectID   string    `json:"subject_id"`
	Purpose     string    `json:"purpose,omitempty"`
	Details     string    `json:"details"`
	RequestID   string    `json:"request_id,omitempty"`
	PrevHash    string    `json:"prev_hash"`
	Hash        string    `json:"hash"`
}

// Append writes e to the log in tx, with the actor and request ID from ctx and
// the time of tx. The record is chained to the current head, which it then becomes.
func Append(ctx context.Context, tx *db.Tx, e Entry) (Record, error) {
	rs, err := AppendMany(ctx, tx, []Entry{e})
	if err != nil {
		return Record{}, err
	}
	return rs[0], nil
}

// AppendMany appends entries in order in tx, as Append would one by one,
// reading and moving the head once: what a batch of signatures, each with
// its own record, needs.
func AppendMany(ctx context.Context, tx *db.Tx, entries []Entry) ([]Record, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	rs, err := records(ctx, tx, entries)
	if err != nil {
		return nil, err
	}
	if err := chain(ctx, tx, rs); err != nil {
		return nil, err
	}
	return rs, nil
}

// queueKey is the key of the records Queue keeps in a transaction.
type queueKey struct{}

// Queue appends entries as AppendMany would, but the records are chained
// and written just before tx commits, together with every other record
// queued in tx: one read and one move of the head per transaction. On a hot
// path that shares transactions through db.Batch (a signature per call,
// each with its record) that is the difference between the single writer
// moving the head for every call and moving it once per commit. The
// records are part of tx all the same: they commit with it or not at all.
func Queue(ctx context.Context, tx *db.Tx, entries ...Entry) error {
	rs, err := records(ctx, tx, entries)
	if err != nil {
		return err
	}
	for _, r := range rs {
		db.Defer(tx, queueKey{}, r, chain)
	}
	return nil
}

// records makes entries into records with the actor and request ID from
// ctx and the time of tx; chain gives them their place.
func records(ctx context.Context, tx *db.Tx, entries []Entry) ([]Record, error) {
	actor := kernel.ActorFrom(ctx)
	out := make([]Record, 0, len(entries))
	for _, e := range entries {
		if e.Action == "" {
			return nil, kernel.E(kernel.Invalid, "error.audit.no_action")
		}
		details := "{}"
		if e.Details != nil {
			b, err := json.Marshal(e.Details)
			if err != nil {
				return nil, kernel.Wrap(err, "audit: marshal details")
			}
			details = string(b)
		}
		out = append(out, Record{
			At:          tx.Now.Truncate(time.Microsecond),
			ActorKind:   string(actor.Kind),
			ActorID:     actor.ID,
			OnBehalfOf:  actor.OnBehalfOf,
			Action:      e.Action,
			SubjectType: e.SubjectType,
			SubjectID:   e.SubjectID,
			Purpose:     e.Purpose,
			Details:     details,
			RequestID:   kernel.RequestIDFrom(ctx),
		})
	}
	return out, nil
}

// insertRows is the most records one INSERT writes: fewer statements for
// the single writer, well under SQLite's limit of bound parameters. Each
// count up to it is its own statement, prepared once.
const insertRows = 32

// insertMany[n] is the INSERT of n records.
var insertMany = func() (qs [insertRows + 1]string) {
	for n := 1; n <= insertRows; n++ {
		qs[n] = `INSERT INTO audit_log
	(seq, at, actor_kind, actor_id, on_behalf_of, action, subject_type, subject_id, purpose, details, request_id, prev_hash, hash)
	VALUES ` + strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", n-1) + "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	}
	return qs
}()

// chain gives rs their sequence numbers and hashes after the head, writes
// them and moves the head to the last.
func chain(ctx context.Context, tx *db.Tx, rs []Record) error {
	// PostgreSQL: lock the head row so concurrent appenders (several civitas
	// instances) queue up; SQLite has one writer already.
	lock := ""
	if tx.Dialect() == db.Postgres {
		lock = " FOR UPDATE"
	}
	var seq int64
	var prev string
	if err := tx.QueryRow(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1"+lock).Scan(&seq, &prev); err != nil {
		return kernel.Wrap(err, "audit: read head")
	}
	h := sha256.New()
	for i := range rs {
		seq++
		rs[i].Seq, rs[i].PrevHash = seq, prev
		rs[i].Hash = rs[i].computeHash(h)
		prev = rs[i].Hash
	}
	args := make([]any, 0, 13*insertRows)
	for len(rs) > 0 {
		n := min(len(rs), insertRows)
		args = args[:0]
		for _, r := range rs[:n] {
			args = append(args, r.Seq, kernel.Micros(r.At), r.ActorKind, r.ActorID, r.OnBehalfOf, r.Action, r.SubjectType, r.SubjectID,
				r.Purpose, r.Details, r.RequestID, r.PrevHash, r.Hash)
		}
		if _, err := tx.Exec(ctx, insertMany[n], args...); err != nil {
			return kernel.Wrap(err, "audit: insert record")
		}
		rs = rs[n:]
	}
	if _, err := tx.Exec(ctx, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", seq, prev); err != nil {
		return kernel.Wrap(err, "audit: move head")
	}
	return nil
}

// computeHash returns hex(SHA-256) over every field but Hash, each one
// length-prefixed so that no two different records encode alike.
func (r *Record) computeHash(h hash.Hash) string {
	h.Reset()
	var n [8]byte
	num := func(v int64) {
		binary.BigEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	str := func(s string) {
		num(int64(len(s)))
		h.Write([]byte(s))
	}
	h.Write([]byte("civitas-audit-v1"))
	num(r.Seq)
	num(kernel.Micros(r.At))
	for _, s := range []string{r.ActorKind, r.ActorID, r.OnBehalfOf, r.Action, r.SubjectType, r.SubjectID, r.Purpose, r.Details, r.RequestID, r.PrevHash} {
		str(s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Head is the end of the chain: what a checkpoint signs.
type Head struct {
	Seq  int64
	Hash string
}

// ReadHead returns the current head of the chain.
func ReadHead(ctx context.Context, d *db.DB) (Head, error) {
	var h Head
	if err := d.QueryRow(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&h.Seq, &h.Hash); err != nil {
		return Head{}, kernel.Wrap(err, "audit: read head")
	}
	return h, nil
}

// Report is the result of Verify.
type Report struct {
	Records int64 // records checked
	Head    Head
	// FirstBad is the sequence number of the first record that does not
	// verify (0 when the log is intact); Problem says why.
	FirstBad int64
	Problem  string
}

// OK reports whether the whole log verified.
func (r Report) OK() bool { return r.Problem == "" }

// Verify walks the whole log in order and checks every record's hash, its
// link to its predecessor, that sequence numbers have no gaps, and that the
// head names the last record. It stops at the first problem.
func Verify(ctx context.Context, d *db.DB) (Report, error) {
	var rep Report
	err := d.View(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&rep.Head.Seq, &rep.Head.Hash); err != nil {
			return kernel.Wrap(err, "audit: read head")
		}
		rows, err := tx.Query(ctx, selectRecords+" ORDER BY seq")
		if err != nil {
			return kernel.Wrap(err, "audit: read log")
		}
		defer rows.Close()
		h := sha256.New()
		var prev Record
		for rows.Next() {
			r, err := scanRecord(rows)
			if err != nil {
				return err
			}
			switch {
			case r.Seq != prev.Seq+1:
				rep.FirstBad, rep.Problem = prev.Seq+1, fmt.Sprintf("record %d is missing (next present is %d)", prev.Seq+1, r.Seq)
			case r.PrevHash != prev.Hash:
				rep.FirstBad, rep.Problem = r.Seq, "does not link to the record before it"
			case r.computeHash(h) != r.Hash:
				rep.FirstBad, rep.Problem = r.Seq, "content does not match its hash"
			}
			if rep.Problem != "" {
				return nil
			}
			rep.Records++
			prev = r
		}
		if err := rows.Err(); err != nil {
			return kernel.Wrap(err, "audit: read log")
		}
		if rep.Head.Seq != prev.Seq || rep.Head.Hash != prev.Hash {
			rep.FirstBad = min(rep.Head.Seq, prev.Seq+1)
			rep.Problem = fmt.Sprintf("the head names record %d but the log ends at %d", rep.Head.Seq, prev.Seq)
		}
		return nil
	})
	return rep, err
}

// Query selects records about a subject, or done on behalf of someone.
type Query struct {
	SubjectType string
	SubjectID   string
	OnBehalfOf  string
	Page        kernel.Page // After is a sequence number in decimal
}

// List returns records matching q, newest first.
func List(ctx context.Context, d *db.DB, q Query) ([]Record, error) {
	p := q.Page.Normalize(50)
	where, args := "1 = 1", []any{}
	if q.SubjectType != "" {
		where += " AND subject_type = ? AND subject_id = ?"
		args = append(args, q.SubjectType, q.SubjectID)
	}
	if q.OnBehalfOf != "" {
		where += " AND on_behalf_of = ?"
		args = append(args, q.OnBehalfOf)
	}
	if p.After != "" {
		var after int64
		if _, err := fmt.Sscan(p.After, &after); err != nil {
			return nil, kernel.E(kernel.Invalid, "error.invalid")
		}
		where += " AND seq < ?"
		args = append(args, after)
	}
	args = append(args, p.Limit)
	rows, err := d.Query(ctx, selectRecords+" WHERE "+where+" ORDER BY seq DESC LIMIT ?", args...)
	if err != nil {
		return nil, kernel.Wrap(err, "audit: list")
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, kernel.Wrap(err, "audit: list")
	}
	return out, nil
}

const selectRecords = `SELECT seq, at, actor_kind, actor_id, on_behalf_of, action, subject_type, subject_id,
	purpose, details, request_id, prev_hash, hash FROM audit_log`

func scanRecord(rows *sql.Rows) (Record, error) {
	var r Record
	var at int64
	if err := rows.Scan(&r.Seq, &at, &r.ActorKind, &r.ActorID, &r.OnBehalfOf, &r.Action, &r.SubjectType,
		&r.SubjectID, &r.Purpose, &r.Details, &r.RequestID, &r.PrevHash, &r.Hash); err != nil {
		return Record{}, kernel.Wrap(err, "audit: scan record")
	}
	r.At = kernel.FromMicros(at)
	return r, nil
}
