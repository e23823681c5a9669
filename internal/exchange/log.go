package exchange

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// Kinds of log entries.
const (
	KindUse  = "use"  // a read of the subject's data by someone else
	KindSent = "sent" // a query this province sent to a peer
)

// Channels of reads, as the log names them.
const (
	ChannelExchange = "exchange" // an agency's system through the API, or a peer's
	ChannelDesk     = "desk"     // an official at /officer/lookup
)

// Entry is one row of the log.
type Entry struct {
	Seq         int64
	ID          string
	At          time.Time
	Kind        string // KindUse or KindSent
	SubjectKind string // SubjectPerson or SubjectOrganisation
	Subject     string // citizen ID or enterprise code
	// Related is set on the reads of persons whose data a query's answer
	// carried beside its subject's (a household's other members).
	Related    bool
	Unit       string // the subject's commune, when known
	ReaderKind string
	ReaderID   string
	Consumer   string // as grants name it, or the reader's ID
	Agency     string
	ReaderName string
	Post       string // the official's role at the agency, for a desk look-up
	Channel    string
	Service    string
	Fields     []string
	Purpose    string
	CaseRef    string
	Peer       string
	Message    string // the query's ID (the receipt's jti); rows of one query share it
	DataSHA256 string
	Receipt    string
	PrevHash   string
	Hash       string
}

// logKey keys the entries a transaction keeps until it commits.
type logKey struct{}

// Record writes a read of a person's data by someone else to the log, in
// the caller's transaction and at its time: what every capability that
// reads a person's data for another party calls (through its own UseLog
// interface). The reader is ActorFrom(ctx) when u.Reader is zero; the
// person reading their own data is not recorded, so callers do not call.
// Call it after queueing the transaction's audit record: on PostgreSQL
// every transaction then takes the audit log's head before this log's.
func (s *Service) Record(ctx context.Context, tx *db.Tx, u kernel.DataUse) error {
	if _, err := registry.ParseCitizenID(u.Subject); err != nil {
		return kernel.E(kernel.Invalid, "exchange.error.bad_subject").WithCause(err)
	}
	if u.Channel == "" || u.Service == "" {
		return kernel.E(kernel.Invalid, "exchange.error.bad_use")
	}
	r := u.Reader
	if r.Kind == "" {
		r = kernel.ActorFrom(ctx)
	}
	name := u.ReaderName
	if name == "" {
		name = s.agencyName(ctx, u.Agency)
	}
	keep(tx, Entry{Kind: KindUse, SubjectKind: SubjectPerson, Subject: u.Subject, ReaderKind: string(r.Kind), ReaderID: r.ID,
		Consumer: r.ID, Agency: u.Agency, ReaderName: name, Channel: u.Channel, Service: u.Service, Fields: u.Fields,
		Purpose: u.Purpose, CaseRef: u.CaseRef, Receipt: u.Receipt})
	return nil
}

// keep adds e to the entries tx writes when it commits: the head of the
// chain is read and moved once per transaction (once per db.Batch of many
// queries), not once per entry.
func keep(tx *db.Tx, e Entry) {
	if e.ID == "" {
		e.ID = kernel.NewOrderedID(tx.Now)
	}
	e.At = tx.Now.Truncate(time.Microsecond)
	db.Defer(tx, logKey{}, e, chainLog)
}

// logColumns are the columns of exchange_log, in the order rows are written.
const logColumns = `seq, id, at, kind, subject_kind, subject, related, unit, reader_kind, reader_id, consumer, agency, reader_name, post,
	channel, service, fields, purpose, case_ref, peer, message, data_sha256, receipt, prev_hash, hash`

const logColumnCount = 25

// logInsertRows is the most rows one INSERT writes.
const logInsertRows = 16

var logInserts = func() (qs [logInsertRows + 1]string) {
	one := "(" + strings.Repeat("?, ", logColumnCount-1) + "?)"
	for n := 1; n <= logInsertRows; n++ {
		qs[n] = "INSERT INTO exchange_log (" + logColumns + ") VALUES " + strings.Repeat(one+", ", n-1) + one
	}
	return qs
}()

// chainLog gives es their sequence numbers and hashes after the head,
// writes them and moves the head to the last.
func chainLog(ctx context.Context, tx *db.Tx, es []Entry) error {
	lock := ""
	if tx.Dialect() == db.Postgres {
		lock = " FOR UPDATE" // several instances append in turn
	}
	var seq int64
	var prev string
	if err := tx.QueryRow(ctx, "SELECT seq, hash FROM exchange_log_head WHERE id = 1"+lock).Scan(&seq, &prev); err != nil {
		return kernel.Wrap(err, "exchange: read log head")
	}
	h := sha256.New()
	for i := range es {
		seq++
		es[i].Seq, es[i].PrevHash = seq, prev
		es[i].Hash = es[i].computeHash(h)
		prev = es[i].Hash
	}
	stored := make([]string, len(es))
	var headers map[string]string
	for i, e := range es {
		var digest, header string
		if stored[i], digest, header = compactReceipt(e.Receipt); digest != "" {
			if headers == nil {
				headers = map[string]string{}
			}
			headers[digest] = header
		}
	}
	if err := keepHeaders(ctx, tx, headers); err != nil {
		return err
	}
	args := make([]any, 0, logColumnCount*logInsertRows)
	for i, rest := 0, es; len(rest) > 0; {
		n := min(len(rest), logInsertRows)
		args = args[:0]
		for j, e := range rest[:n] {
			related := 0
			if e.Related {
				related = 1
			}
			args = append(args, e.Seq, e.ID, kernel.Micros(e.At), e.Kind, e.SubjectKind, e.Subject, related, e.Unit, e.ReaderKind, e.ReaderID,
				e.Consumer, e.Agency, e.ReaderName, e.Post, e.Channel, e.Service, strings.Join(e.Fields, " "), e.Purpose, e.CaseRef, e.Peer,
				e.Message, e.DataSHA256, stored[i+j], e.PrevHash, e.Hash)
		}
		if _, err := tx.Exec(ctx, logInserts[n], args...); err != nil {
			return kernel.Wrap(err, "exchange: write log")
		}
		rest, i = rest[n:], i+n
	}
	if _, err := tx.Exec(ctx, "UPDATE exchange_log_head SET seq = ?, hash = ? WHERE id = 1", seq, prev); err != nil {
		return kernel.Wrap(err, "exchange: move log head")
	}
	return nil
}

// computeHash returns hex(SHA-256) over every field but Hash, each
// length-prefixed so that no two different entries encode alike.
func (e *Entry) computeHash(h hash.Hash) string {
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
	h.Write([]byte("civitas-exchange-log-v1"))
	num(e.Seq)
	num(kernel.Micros(e.At))
	related := int64(0)
	if e.Related {
		related = 1
	}
	num(related)
	for _, s := range []string{e.ID, e.Kind, e.SubjectKind, e.Subject, e.Unit, e.ReaderKind, e.ReaderID, e.Consumer, e.Agency, e.ReaderName,
		e.Post, e.Channel, e.Service, strings.Join(e.Fields, " "), e.Purpose, e.CaseRef, e.Peer, e.Message, e.DataSHA256, e.Receipt, e.PrevHash} {
		str(s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func scanEntry(sc interface{ Scan(...any) error }) (Entry, error) {
	var e Entry
	var at int64
	var related int
	var fields string
	if err := sc.Scan(&e.Seq, &e.ID, &at, &e.Kind, &e.SubjectKind, &e.Subject, &related, &e.Unit, &e.ReaderKind, &e.ReaderID, &e.Consumer,
		&e.Agency, &e.ReaderName, &e.Post, &e.Channel, &e.Service, &fields, &e.Purpose, &e.CaseRef, &e.Peer, &e.Message, &e.DataSHA256,
		&e.Receipt, &e.PrevHash, &e.Hash); err != nil {
		return Entry{}, kernel.Wrap(err, "exchange: read log")
	}
	e.At, e.Related, e.Fields = kernel.FromMicros(at), related != 0, strings.Fields(fields)
	return e, nil
}

// UseQuery selects the reads of one person's data, newest first.
type UseQuery struct {
	Subject string // citizen ID
	// Filters; empty matches all.
	Service string
	Purpose string
	Agency  string
	Channel string
	From    time.Time // at or after
	To      time.Time // before
	Page    kernel.Page
}

// Uses returns a page of the reads of q.Subject's data by others, newest
// first, and the cursor of the next page ("" at the end). The caller has
// checked that whoever asks is the person or their guardian.
func (s *Service) Uses(ctx context.Context, q UseQuery) ([]Entry, string, error) {
	p := q.Page.Normalize(50)
	// The subject is a citizen ID (12 digits), which no enterprise code (10)
	// is: subject_kind need not be asked, and the filters are answered from
	// the index exchange_log_subject alone, in the order of seq.
	where := "subject = ? AND kind = ?"
	args := []any{q.Subject, KindUse}
	for _, f := range []struct{ col, v string }{{"service", q.Service}, {"purpose", q.Purpose}, {"agency", q.Agency}, {"channel", q.Channel}} {
		if f.v != "" {
			where += " AND " + f.col + " = ?"
			args = append(args, f.v)
		}
	}
	if !q.From.IsZero() {
		where += " AND at >= ?"
		args = append(args, kernel.Micros(q.From))
	}
	if !q.To.IsZero() {
		where += " AND at < ?"
		args = append(args, kernel.Micros(q.To))
	}
	if p.After != "" {
		after, err := strconv.ParseInt(p.After, 10, 64)
		if err != nil || after < 1 {
			return nil, "", kernel.E(kernel.Invalid, "error.invalid")
		}
		where += " AND seq < ?"
		args = append(args, after)
	}
	args = append(args, p.Limit+1)
	rows, err := s.o.DB.Query(ctx, "SELECT "+logColumns+" FROM exchange_log WHERE "+where+" ORDER BY seq DESC LIMIT ?", args...)
	if err != nil {
		return nil, "", kernel.Wrap(err, "exchange: uses")
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", kernel.Wrap(err, "exchange: uses")
	}
	rows.Close()
	if len(out) > 0 {
		hc, err := loadHeaders(ctx, s.o.DB)
		if err != nil {
			return nil, "", err
		}
		for i := range out {
			out[i].Receipt = hc.expand(out[i].Receipt)
		}
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		next = strconv.FormatInt(out[len(out)-1].Seq, 10)
	}
	return out, next, nil
}
