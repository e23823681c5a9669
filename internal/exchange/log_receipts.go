package exchange

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Receipts are kept in the log without their protected header, which is
// the same for every receipt a seal signs and is most of the receipt (the
// x5c chain): a row names its header by the SHA-256 of its text, kept once
// in exchange_receipt_headers. A log row is then a third of the size, and
// the log's pages fill three times slower. The chain's hashes cover the
// whole receipt, so a header changed in its table is found by VerifyLog.

// compactAbove is the header length from which a receipt is stored compact.
const compactAbove = 128

// compactPrefix marks a stored receipt whose header is kept apart.
const compactPrefix = "~"

// compactReceipt returns the form a receipt is stored in, and the header
// (and its digest) to keep, if any.
func compactReceipt(receipt string) (stored, digest, header string) {
	dot := strings.IndexByte(receipt, '.')
	if dot < compactAbove {
		return receipt, "", ""
	}
	header = receipt[:dot]
	sum := sha256.Sum256([]byte(header))
	digest = hex.EncodeToString(sum[:])
	return compactPrefix + digest + receipt[dot:], digest, header
}

// keepHeaders stores the headers of entries about to be written, once each.
func keepHeaders(ctx context.Context, tx *db.Tx, headers map[string]string) error {
	for digest, header := range headers {
		if _, err := tx.Exec(ctx, "INSERT INTO exchange_receipt_headers (digest, header) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING",
			digest, header); err != nil {
			return kernel.Wrap(err, "exchange: keep a receipt's header")
		}
	}
	return nil
}

// headerCache resolves stored receipts into whole ones. The headers are
// few (one per seal certificate in use since the log began) and are read
// all at once, before any other rows are open on the connection.
type headerCache map[string]string

func loadHeaders(ctx context.Context, r reader) (headerCache, error) {
	rows, err := r.Query(ctx, "SELECT digest, header FROM exchange_receipt_headers")
	if err != nil {
		return nil, kernel.Wrap(err, "exchange: read receipts' headers")
	}
	defer rows.Close()
	c := headerCache{}
	for rows.Next() {
		var digest, header string
		if err := rows.Scan(&digest, &header); err != nil {
			return nil, kernel.Wrap(err, "exchange: read receipts' headers")
		}
		c[digest] = header
	}
	return c, kernel.Wrap(rows.Err(), "exchange: read receipts' headers")
}

// expand returns the whole receipt of a stored one. A header that is not
// kept leaves the stored form, which then fails its entry's hash.
func (c headerCache) expand(stored string) string {
	rest, ok := strings.CutPrefix(stored, compactPrefix)
	if !ok || len(rest) < 64 {
		return stored
	}
	header, ok := c[rest[:64]]
	if !ok {
		return stored
	}
	return header + rest[64:]
}
