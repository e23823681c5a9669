package pki

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Stamper gets an RFC 3161 time-stamp token over a SHA-256 digest.
type Stamper interface {
	Stamp(ctx context.Context, digest []byte) ([]byte, error)
}

// Checkpoint is a sealed head of the audit log: the log held Seq records
// and the last one's hash was Hash, at At, says the audit seal's key (and,
// when Token is set, a time-stamping unit).
type Checkpoint struct {
	Seq       int64     // records in the log: the sealed record's sequence number
	Hash      string    // the sealed record's hash: the head of the chain
	At        time.Time // when it was sealed, to the microsecond
	Signer    string    // serial of the audit seal certificate, hex
	Signature []byte    // the audit seal's signature over checkpointDigest
	Token     []byte    // RFC 3161 time-stamp token over the same digest; nil when none
}

// checkpointDigest is what a checkpoint seals: a fixed label, so the
// signature means nothing else, and the head at a time.
func checkpointDigest(seq int64, hash string, at int64) []byte {
	sum := sha256.Sum256([]byte("civitas audit checkpoint v1\n" + strconv.FormatInt(seq, 10) + "\n" + hash + "\n" + strconv.FormatInt(at, 10)))
	return sum[:]
}

func (c Checkpoint) digest() []byte { return checkpointDigest(c.Seq, c.Hash, kernel.Micros(c.At)) }

// Published is a checkpoint as GET /audit/checkpoints publishes it, and as
// a witness keeps it: one JSON object per line of its file, byte for byte
// as published. Everything needed to check it is in it but the audit
// seal's certificate, which the province publishes at /pki/ca/audit.crt.
type Published struct {
	Records   int64  `json:"records"`                   // records in the log up to the head
	Head      string `json:"head"`                      // hex SHA-256 hash of the last of them
	Time      string `json:"time"`                      // RFC 3339 in UTC with microseconds: when it was sealed
	Signer    string `json:"signer"`                    // serial (hex) of the audit seal certificate
	Signature string `json:"signature"`                 // base64: the seal over records, head and time
	Timestamp string `json:"timestamp_token,omitempty"` // base64 RFC 3161 token over the same digest
}

// publishedTime is the layout of Published.Time: microseconds always, so
// the sealed time reads back exactly.
const publishedTime = "2006-01-02T15:04:05.000000Z07:00"

// Published returns c as it is published.
func (c Checkpoint) Published() Published {
	p := Published{Records: c.Seq, Head: c.Hash, Time: c.At.UTC().Format(publishedTime), Signer: c.Signer,
		Signature: base64.StdEncoding.EncodeToString(c.Signature)}
	if len(c.Token) > 0 {
		p.Timestamp = base64.StdEncoding.EncodeToString(c.Token)
	}
	return p
}

// Checkpoint reads a published checkpoint back; it says nothing of whether
// it verifies (VerifyWitness does), only that every field is well formed.
func (p Published) Checkpoint() (Checkpoint, error) {
	bad := func() (Checkpoint, error) { return Checkpoint{}, kernel.E(kernel.Invalid, "pki.error.bad_checkpoint") }
	if p.Records <= 0 || len(p.Head) != 64 || strings.ToLower(p.Head) != p.Head || p.Signer == "" || len(p.Signer) > 40 {
		return bad()
	}
	if _, err := hex.DecodeString(p.Head); err != nil {
		return bad()
	}
	if _, err := ParseSerial(p.Signer); err != nil || strings.ToLower(p.Signer) != p.Signer {
		return bad()
	}
	at, err := time.Parse(time.RFC3339Nano, p.Time)
	if err != nil || at.Year() < 2000 || at.Year() > 9999 {
		return bad()
	}
	sig, err := base64.StdEncoding.DecodeString(p.Signature)
	if err != nil || len(sig) == 0 {
		return bad()
	}
	var token []byte
	if p.Timestamp != "" {
		if token, err = base64.StdEncoding.DecodeString(p.Timestamp); err != nil {
			return bad()
		}
	}
	return Checkpoint{Seq: p.Records, Hash: p.Head, At: at.UTC(), Signer: p.Signer, Signature: sig, Token: token}, nil
}

// CheckpointPolicy says when the head of the audit log is due for a seal:
// once Every has passed since the last checkpoint, or as soon as Records
// records were added since it, whichever comes first; never while nothing
// was added. KeepCheckpoints looks every Poll.
type CheckpointPolicy struct {
	Every   time.Duration
	Records int64
	Poll    time.Duration
}

// DefaultCheckpointPolicy seals the head every minute or every 1,000
// records, looking every second: deleting the newest records goes unseen
// by a witness for a minute at most.
func DefaultCheckpointPolicy() CheckpointPolicy {
	return CheckpointPolicy{Every: time.Minute, Records: 1000, Poll: time.Second}
}

// lastCheckpoint is the newest checkpoint's record count and time (zero
// when there is none).
func lastCheckpoint(ctx context.Context, d *db.DB) (seq int64, at time.Time, err error) {
	var micros int64
	err = d.QueryRow(ctx, `SELECT seq, at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1`).Scan(&seq, &micros)
	if errNoRows(err) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, kernel.Wrap(err, "pki: read checkpoints")
	}
	return seq, kernel.FromMicros(micros), nil
}

// Checkpoint seals the current head of the audit log with the audit key,
// time-stamped by stamper when it is not nil. Nothing is written when no
// record was added since the last checkpoint.
func (s *Service) Checkpoint(ctx context.Context, stamper Stamper) (Checkpoint, bool, error) {
	return s.checkpointIf(ctx, stamper, func(head, last int64, _ time.Time) bool { return head > last })
}

// CheckpointIfDue seals the head when p says it is due. Finding out costs
// two one-row reads (the head, the newest checkpoint) and no write, so it
// may be asked every second; the writers of the log are not involved.
func (s *Service) CheckpointIfDue(ctx context.Context, stamper Stamper, p CheckpointPolicy) (Checkpoint, bool, error) {
	now := s.o.Clock.Now()
	return s.checkpointIf(ctx, stamper, func(head, last int64, lastAt time.Time) bool {
		return head > last && (head-last >= p.Records || now.Sub(lastAt) >= p.Every)
	})
}

// KeepCheckpoints seals the head whenever p says it is due, looking every
// p.Poll, until ctx ends or its deadline is too near to seal again. It is
// the audit.checkpoint job, which runs under a lease so one instance does
// it; the lease's end is the deadline, and the next run goes on.
func (s *Service) KeepCheckpoints(ctx context.Context, stamper Stamper, p CheckpointPolicy) error {
	const margin = 5 * time.Second // for a seal and a time-stamp under way
	t := time.NewTicker(p.Poll)
	defer t.Stop()
	for {
		if _, _, err := s.CheckpointIfDue(ctx, stamper, p); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < p.Poll+margin {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Service) checkpointIf(ctx context.Context, stamper Stamper, due func(head, last int64, lastAt time.Time) bool) (Checkpoint, bool, error) {
	seal, err := s.CA(AuditSeal)
	if err != nil {
		return Checkpoint{}, false, err
	}
	head, err := audit.ReadHead(ctx, s.o.DB)
	if err != nil {
		return Checkpoint{}, false, err
	}
	last, lastAt, err := lastCheckpoint(ctx, s.o.DB)
	if err != nil {
		return Checkpoint{}, false, err
	}
	if head.Seq == 0 || !due(head.Seq, last, lastAt) {
		return Checkpoint{}, false, nil
	}
	cp := Checkpoint{Seq: head.Seq, Hash: head.Hash, At: s.o.Clock.Now().Truncate(time.Microsecond).UTC(), Signer: serialHex(seal.Cert.SerialNumber)}
	digest := cp.digest()
	if cp.Signature, err = signDigest(seal.Signer, digest); err != nil {
		return Checkpoint{}, false, kernel.Wrap(err, "pki: seal checkpoint")
	}
	if stamper != nil {
		if cp.Token, err = stamper.Stamp(ctx, digest); err != nil {
			return Checkpoint{}, false, kernel.Wrap(err, "pki: time-stamp checkpoint")
		}
	}
	pub := cp.Published()
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO audit_checkpoints (seq, hash, at, signer_serial, signature, timestamp_token) VALUES (?, ?, ?, ?, ?, ?)`,
			cp.Seq, cp.Hash, kernel.Micros(cp.At), cp.Signer, pub.Signature, pub.Timestamp)
		return err
	})
	if db.IsUniqueViolation(err) {
		return Checkpoint{}, false, nil // another instance sealed this head
	}
	if err != nil {
		return Checkpoint{}, false, kernel.Wrap(err, "pki: store checkpoint")
	}
	// The log stream carries every checkpoint as published, so a witness
	// that reads the logs keeps copies without asking the server:
	// jq -r 'select(.msg == "audit checkpoint") | .checkpoint'.
	if line, err := json.Marshal(pub); err == nil {
		s.o.Logger.InfoContext(ctx, "audit checkpoint", slog.Int64("records", cp.Seq), slog.String("checkpoint", string(line)))
	}
	return cp, true, nil
}

// Checkpoints returns up to limit checkpoints sealing more than after
// records, oldest first: the pages of GET /audit/checkpoints.
func (s *Service) Checkpoints(ctx context.Context, after int64, limit int) ([]Checkpoint, error) {
	limit = kernel.Page{Limit: limit}.Normalize(100).Limit
	rows, err := s.o.DB.Query(ctx, `SELECT seq, hash, at, signer_serial, signature, timestamp_token FROM audit_checkpoints
		WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, kernel.Wrap(err, "pki: list checkpoints")
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		cp, err := scanCheckpoint(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, cp)
	}
	if err := rows.Err(); err != nil {
		return nil, kernel.Wrap(err, "pki: list checkpoints")
	}
	return out, nil
}

// LatestCheckpoint returns the newest checkpoint; NotFound before the first.
func (s *Service) LatestCheckpoint(ctx context.Context) (Checkpoint, error) {
	cp, err := scanCheckpoint(s.o.DB.QueryRow(ctx, `SELECT seq, hash, at, signer_serial, signature, timestamp_token FROM audit_checkpoints
		ORDER BY seq DESC LIMIT 1`).Scan)
	if errNoRows(err) {
		return Checkpoint{}, kernel.E(kernel.NotFound, "pki.error.no_checkpoint")
	}
	return cp, err
}

// scanCheckpoint reads seq, hash, at, signer_serial, signature and
// timestamp_token.
func scanCheckpoint(scan func(...any) error) (Checkpoint, error) {
	var cp Checkpoint
	var at int64
	var sig, token string
	if err := scan(&cp.Seq, &cp.Hash, &at, &cp.Signer, &sig, &token); err != nil {
		if errNoRows(err) {
			return Checkpoint{}, err
		}
		return Checkpoint{}, kernel.Wrap(err, "pki: read checkpoint")
	}
	cp.At = kernel.FromMicros(at).UTC()
	var err error
	if cp.Signature, err = base64.StdEncoding.DecodeString(sig); err != nil {
		return Checkpoint{}, kernel.Wrap(err, "pki: checkpoint %d signature", cp.Seq)
	}
	if token != "" {
		if cp.Token, err = base64.StdEncoding.DecodeString(token); err != nil {
			return Checkpoint{}, kernel.Wrap(err, "pki: checkpoint %d time-stamp", cp.Seq)
		}
	}
	return cp, nil
}

func signDigest(signer crypto.Signer, digest []byte) ([]byte, error) {
	return signer.Sign(rand.Reader, digest, crypto.SHA256)
}

func verifyDigest(pub crypto.PublicKey, digest, sig []byte) bool {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, digest, sig)
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, sig) == nil
	}
	return false
}
