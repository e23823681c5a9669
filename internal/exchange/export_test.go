package exchange

import (
	"context"
	"crypto/sha256"
	"crypto/tls"

	"civitas/internal/db"
)

// RechainForTest recomputes the hashes of the log from seq on, and the
// head, as an attacker with write access to the database could after an
// edit: what only the time-stamped checkpoints then find.
func RechainForTest(ctx context.Context, tx *db.Tx, from int64) error {
	var prev string
	if from > 1 {
		if err := tx.QueryRow(ctx, "SELECT hash FROM exchange_log WHERE seq = ?", from-1).Scan(&prev); err != nil {
			return err
		}
	}
	rows, err := tx.Query(ctx, "SELECT "+logColumns+" FROM exchange_log WHERE seq >= ? ORDER BY seq", from)
	if err != nil {
		return err
	}
	var es []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			rows.Close()
			return err
		}
		es = append(es, e)
	}
	rows.Close()
	h := sha256.New()
	hc, err := loadHeaders(ctx, tx)
	if err != nil {
		return err
	}
	for _, e := range es {
		e.Receipt = hc.expand(e.Receipt)
		e.PrevHash = prev
		e.Hash = e.computeHash(h)
		prev = e.Hash
		if _, err := tx.Exec(ctx, "UPDATE exchange_log SET prev_hash = ?, hash = ? WHERE seq = ?", e.PrevHash, e.Hash, e.Seq); err != nil {
			return err
		}
	}
	_, err = tx.Exec(ctx, "UPDATE exchange_log_head SET hash = ? WHERE id = 1", prev)
	return err
}

// PeerCertificateForTest is the province's current peer certificate.
func (s *Service) PeerCertificateForTest(ctx context.Context) (tls.Certificate, error) {
	c, err := s.certificate(ctx)
	if err != nil {
		return tls.Certificate{}, err
	}
	return *c, nil
}
