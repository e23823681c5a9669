package exchange

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"civitas/internal/cms"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// checkpointDigest is what a checkpoint's time-stamp covers: a fixed
// label, so the stamp means nothing else, and the head at a time.
func checkpointDigest(seq int64, hash string, at int64) []byte {
	sum := sha256.Sum256([]byte("civitas exchange log checkpoint v1\n" + strconv.FormatInt(seq, 10) + "\n" + hash + "\n" + strconv.FormatInt(at, 10)))
	return sum[:]
}

// Checkpoint has the head of the log time-stamped by stamper, when entries
// were added since the last checkpoint: the batches in which the message
// log is time-stamped. It reports whether it wrote one.
func (s *Service) Checkpoint(ctx context.Context, stamper Stamper) (bool, error) {
	if stamper == nil {
		return false, nil
	}
	var seq, last int64
	var hash string
	if err := s.o.DB.QueryRow(ctx, "SELECT seq, hash FROM exchange_log_head WHERE id = 1").Scan(&seq, &hash); err != nil {
		return false, kernel.Wrap(err, "exchange: read log head")
	}
	if err := s.o.DB.QueryRow(ctx, "SELECT COALESCE(MAX(seq), 0) FROM exchange_checkpoints").Scan(&last); err != nil {
		return false, kernel.Wrap(err, "exchange: read checkpoints")
	}
	if seq == 0 || seq <= last {
		return false, nil
	}
	now := s.o.Clock.Now()
	at := kernel.Micros(now)
	token, err := stamper.Stamp(ctx, checkpointDigest(seq, hash, at))
	if err != nil {
		return false, kernel.Wrap(err, "exchange: time-stamp checkpoint")
	}
	err = s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO exchange_checkpoints (seq, hash, at, timestamp_token) VALUES (?, ?, ?, ?)",
			seq, hash, at, base64.StdEncoding.EncodeToString(token))
		return err
	})
	if db.IsUniqueViolation(err) {
		return false, nil // another instance stamped this head
	}
	if err != nil {
		return false, kernel.Wrap(err, "exchange: store checkpoint")
	}
	return true, nil
}

// LogReport is the result of VerifyLog.
type LogReport struct {
	Entries     int64 // entries verified
	HeadSeq     int64
	HeadHash    string
	Checkpoints int // time-stamped checkpoints verified
	// FirstBad names the first entry (or checkpoint, by the entry it
	// stamps) that does not verify; Problem says why. Both empty: intact.
	FirstBad int64
	Problem  string
}

// OK reports whether the whole log verified.
func (r LogReport) OK() bool { return r.Problem == "" }

// VerifyLog walks the whole log in order and checks every entry's hash,
// its link to the one before, that sequence numbers have no gaps, and that
// the head names the last entry; then every checkpoint: the entry it
// stamps still has the stamped hash and the time-stamp token verifies
// against the TSA's certificate (tsa; nil skips the tokens' signatures,
// never the hashes). Anyone who edits, removes or inserts a row without
// rewriting every hash after it — and every time-stamp — is found.
func VerifyLog(ctx context.Context, d *db.DB, tsa *x509.Certificate) (LogReport, error) {
	var rep LogReport
	err := d.View(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT seq, hash FROM exchange_log_head WHERE id = 1").Scan(&rep.HeadSeq, &rep.HeadHash); err != nil {
			return kernel.Wrap(err, "exchange: read log head")
		}
		hc, err := loadHeaders(ctx, tx)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT "+logColumns+" FROM exchange_log ORDER BY seq")
		if err != nil {
			return kernel.Wrap(err, "exchange: read log")
		}
		defer rows.Close()
		h := sha256.New()
		var prev Entry
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				return err
			}
			e.Receipt = hc.expand(e.Receipt)
			switch {
			case e.Seq != prev.Seq+1:
				rep.FirstBad, rep.Problem = prev.Seq+1, fmt.Sprintf("entry %d is missing (next present is %d)", prev.Seq+1, e.Seq)
			case e.PrevHash != prev.Hash:
				rep.FirstBad, rep.Problem = e.Seq, "does not link to the entry before it"
			case e.computeHash(h) != e.Hash:
				rep.FirstBad, rep.Problem = e.Seq, "content does not match its hash"
			}
			if rep.Problem != "" {
				return nil
			}
			rep.Entries++
			prev = e
		}
		if err := rows.Err(); err != nil {
			return kernel.Wrap(err, "exchange: read log")
		}
		if rep.HeadSeq != prev.Seq || rep.HeadHash != prev.Hash {
			rep.FirstBad = min(rep.HeadSeq, prev.Seq+1)
			rep.Problem = fmt.Sprintf("the head names entry %d but the log ends at %d", rep.HeadSeq, prev.Seq)
		}
		return nil
	})
	if err != nil || !rep.OK() {
		return rep, err
	}
	type checkpoint struct {
		seq, at     int64
		hash, token string
	}
	var cps []checkpoint
	rows, err := d.Query(ctx, "SELECT seq, hash, at, timestamp_token FROM exchange_checkpoints ORDER BY seq")
	if err != nil {
		return rep, kernel.Wrap(err, "exchange: read checkpoints")
	}
	for rows.Next() {
		var c checkpoint
		if err := rows.Scan(&c.seq, &c.hash, &c.at, &c.token); err != nil {
			rows.Close()
			return rep, kernel.Wrap(err, "exchange: read checkpoints")
		}
		cps = append(cps, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, kernel.Wrap(err, "exchange: read checkpoints")
	}
	for _, c := range cps {
		fail := func(why string) (LogReport, error) {
			rep.FirstBad, rep.Problem = c.seq, "checkpoint: "+why
			return rep, nil
		}
		var recorded string
		if err := d.QueryRow(ctx, "SELECT hash FROM exchange_log WHERE seq = ?", c.seq).Scan(&recorded); err != nil {
			return fail("the entry it stamps is gone")
		}
		if recorded != c.hash {
			return fail("the entry it stamps was rewritten")
		}
		token, err := base64.StdEncoding.DecodeString(c.token)
		if err != nil {
			return fail("its time-stamp token is unreadable")
		}
		digest := checkpointDigest(c.seq, c.hash, c.at)
		var certs []*x509.Certificate
		if tsa != nil {
			certs = append(certs, tsa)
		}
		ts, err := cms.ParseTimestampToken(token, digest, certs...)
		if err != nil {
			return fail("its time-stamp does not verify: " + err.Error())
		}
		if tsa != nil && !ts.TSA.Equal(tsa) {
			return fail("its time-stamp is not the province's TSA's")
		}
		if stamped := time.UnixMicro(c.at); ts.Time.Before(stamped.Add(-time.Minute)) || ts.Time.After(stamped.Add(10*time.Minute)) {
			return fail(fmt.Sprintf("its time-stamp says %s, the checkpoint %s", ts.Time.UTC().Format(time.RFC3339), stamped.UTC().Format(time.RFC3339)))
		}
		rep.Checkpoints++
	}
	return rep, nil
}
