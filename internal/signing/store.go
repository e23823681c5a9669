package signing

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Signing's SQL, one helper per statement. Helpers that write take the
// caller's transaction (*db.Tx) and stamp rows with its clock. Helpers that
// read take a reader: the caller's transaction, or — for a read of its own
// that one statement answers consistently — the database's reader pool, so
// the hot path (SignHash) pays no BEGIN and COMMIT for its read. A row that
// is not there is sql.ErrNoRows, for the caller to name; an update that
// matched no row reports false.

// reader runs reads: a *db.Tx or a *db.DB.
type reader interface {
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

var (
	_ reader = (*db.DB)(nil)
	_ reader = (*db.Tx)(nil)
)

// changed reports whether an update changed exactly one row.
func changed(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// --- credentials

type scanner interface{ Scan(...any) error }

const credentialColumns = `id, account_id, cert_serial, status, created_at, activated_at, signatures, agency_code, agency_name, title`

func scanCredential(r scanner) (Credential, error) {
	var c Credential
	var created, activated int64
	if err := r.Scan(&c.ID, &c.AccountID, &c.Serial, &c.Status, &created, &activated, &c.Signatures,
		&c.Capacity.AgencyCode, &c.Capacity.AgencyName, &c.Capacity.Title); err != nil {
		return c, err
	}
	c.CreatedAt = time.UnixMicro(created).UTC()
	if activated != 0 {
		c.ActivatedAt = time.UnixMicro(activated).UTC()
	}
	return c, nil
}

func insertCredential(ctx context.Context, tx *db.Tx, c Credential, unitCode string) error {
	_, err := tx.Exec(ctx, `INSERT INTO signing_credentials (id, account_id, unit_code, cert_serial, status, created_at, agency_code, agency_name, title)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.AccountID, unitCode, c.Serial, c.Status, kernel.Micros(tx.Now),
		c.Capacity.AgencyCode, c.Capacity.AgencyName, c.Capacity.Title)
	return err
}

// activateCredential moves an issued credential of its holder to active.
func activateCredential(ctx context.Context, tx *db.Tx, accountID, id string) (bool, error) {
	return changed(tx.Exec(ctx, `UPDATE signing_credentials SET status = ?, activated_at = ? WHERE id = ? AND account_id = ? AND status = ?`,
		CredentialActive, kernel.Micros(tx.Now), id, accountID, CredentialIssued))
}

// findCredentials lists a holder's credentials, newest first.
func findCredentials(ctx context.Context, r reader, accountID string) ([]Credential, error) {
	rows, err := r.Query(ctx, `SELECT `+credentialColumns+`
		FROM signing_credentials WHERE account_id = ? ORDER BY created_at DESC, id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// findCredential is one of a holder's credentials.
func findCredential(ctx context.Context, r reader, accountID, id string) (Credential, error) {
	return scanCredential(r.QueryRow(ctx, `SELECT `+credentialColumns+`
		FROM signing_credentials WHERE id = ? AND account_id = ?`, id, accountID))
}

// addCredentialUses counts n signatures on an active credential and returns
// its commune; sql.ErrNoRows when the credential is not active.
func addCredentialUses(ctx context.Context, tx *db.Tx, id string, n int, at int64) (unit string, err error) {
	err = tx.QueryRow(ctx, `UPDATE signing_credentials SET signatures = signatures + ?, last_used_at = ? WHERE id = ? AND status = ? RETURNING unit_code`,
		n, at, id, CredentialActive).Scan(&unit)
	return unit, err
}

// findFigures gives the adoption figures per commune whose code starts
// with prefix.
func findFigures(ctx context.Context, r reader, prefix string) ([]UnitFigures, error) {
	rows, err := r.Query(ctx, `SELECT unit_code, COUNT(*),
		SUM(CASE WHEN activated_at <> 0 THEN 1 ELSE 0 END), SUM(CASE WHEN signatures > 0 THEN 1 ELSE 0 END)
		FROM signing_credentials WHERE unit_code LIKE ? GROUP BY unit_code ORDER BY unit_code`, prefix+"%")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UnitFigures
	for rows.Next() {
		var f UnitFigures
		if err := rows.Scan(&f.UnitCode, &f.Issued, &f.Activated, &f.Used); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// --- requests and their items

const requestColumns = `id, credential_id, account_id, client, description, status, items, created_at, expires_at, callback_url, handoff`

func scanRequest(r scanner, now time.Time) (Request, error) {
	var q Request
	var created, expires int64
	if err := r.Scan(&q.ID, &q.CredentialID, &q.AccountID, &q.Client, &q.Description, &q.Status, &q.Count, &created, &expires,
		&q.CallbackURL, &q.Handoff); err != nil {
		return q, err
	}
	q.CreatedAt, q.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	if q.Status == RequestPending && !now.Before(q.ExpiresAt) {
		q.Status = RequestExpired
	}
	return q, nil
}

// insertRequest writes a request and its items.
func insertRequest(ctx context.Context, tx *db.Tx, r Request) error {
	if _, err := tx.Exec(ctx, `INSERT INTO signing_requests (id, credential_id, account_id, client, description, status, items, created_at, expires_at, callback_url, handoff)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.CredentialID, r.AccountID, r.Client, r.Description, r.Status, r.Count,
		kernel.Micros(r.CreatedAt), kernel.Micros(r.ExpiresAt), r.CallbackURL, r.Handoff); err != nil {
		return err
	}
	for i, it := range r.Items {
		if _, err := tx.Exec(ctx, `INSERT INTO signing_items (request_id, idx, label, hash) VALUES (?, ?, ?, ?)`,
			r.ID, i, it.Label, base64.StdEncoding.EncodeToString(it.Hash)); err != nil {
			return err
		}
	}
	return nil
}

// findPending lists the requests waiting for a holder at now, oldest first.
func findPending(ctx context.Context, r reader, accountID string, now time.Time) ([]Request, error) {
	rows, err := r.Query(ctx, `SELECT `+requestColumns+` FROM signing_requests
		WHERE account_id = ? AND status = ? AND expires_at > ? ORDER BY created_at, id LIMIT 200`, accountID, RequestPending, kernel.Micros(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		q, err := scanRequest(rows, now)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// findRequest is one of a holder's requests, without its items.
func findRequest(ctx context.Context, r reader, accountID, id string, now time.Time) (Request, error) {
	return scanRequest(r.QueryRow(ctx, `SELECT `+requestColumns+` FROM signing_requests WHERE id = ? AND account_id = ?`, id, accountID), now)
}

// findClientRequest is a request of a holder that an application made.
func findClientRequest(ctx context.Context, r reader, client, accountID, id string, now time.Time) (Request, error) {
	return scanRequest(r.QueryRow(ctx, `SELECT `+requestColumns+` FROM signing_requests WHERE id = ? AND client = ? AND account_id = ?`,
		id, client, accountID), now)
}

// findItems reads a request's items, in order, with their signatures.
func findItems(ctx context.Context, r reader, requestID string) ([]Item, error) {
	rows, err := r.Query(ctx, `SELECT label, hash, signature FROM signing_items WHERE request_id = ? ORDER BY idx`, requestID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		var label, h, sig string
		if err := rows.Scan(&label, &h, &sig); err != nil {
			return nil, err
		}
		raw, err := base64.StdEncoding.DecodeString(h)
		if err != nil {
			return nil, err
		}
		it := Item{Label: label, Hash: raw}
		if sig != "" {
			if it.Signature, err = base64.StdEncoding.DecodeString(sig); err != nil {
				return nil, err
			}
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// approveRequest records a holder's approval of a pending request that has
// not expired, with the SAD's hash (NULL: made when the application takes
// it) valid until sadExpires.
func approveRequest(ctx context.Context, tx *db.Tx, accountID, id string, sadHash sql.NullString, sadExpires time.Time) (bool, error) {
	return changed(tx.Exec(ctx, `UPDATE signing_requests SET status = ?, decided_at = ?, sad_hash = ?, sad_expires_at = ?
		WHERE id = ? AND account_id = ? AND status = ? AND expires_at > ?`, RequestApproved, kernel.Micros(tx.Now), sadHash,
		kernel.Micros(sadExpires), id, accountID, RequestPending, kernel.Micros(tx.Now)))
}

// refuseRequest records a holder's refusal of a pending request.
func refuseRequest(ctx context.Context, tx *db.Tx, accountID, id string) (bool, error) {
	return changed(tx.Exec(ctx, `UPDATE signing_requests SET status = ?, decided_at = ? WHERE id = ? AND account_id = ? AND status = ?`,
		RequestRefused, kernel.Micros(tx.Now), id, accountID, RequestPending))
}

// findCallback is the application of a request and where it is told of it.
func findCallback(ctx context.Context, r reader, id string) (client, callback string, err error) {
	err = r.QueryRow(ctx, `SELECT client, callback_url FROM signing_requests WHERE id = ?`, id).Scan(&client, &callback)
	return client, callback, err
}

// findOwner is the holder and application of a request.
func findOwner(ctx context.Context, r reader, id string) (accountID, client string, err error) {
	err = r.QueryRow(ctx, `SELECT account_id, client FROM signing_requests WHERE id = ?`, id).Scan(&accountID, &client)
	return accountID, client, err
}

// findStatus is a request's stored state and deadline, for its application.
func findStatus(ctx context.Context, r reader, client, id string) (status string, expires time.Time, err error) {
	var at int64
	err = r.QueryRow(ctx, `SELECT status, expires_at FROM signing_requests WHERE id = ? AND client = ?`, id, client).Scan(&status, &at)
	return status, time.UnixMicro(at).UTC(), err
}

// signingState is what SignHash decides with: the request, its credential
// and its approved hashes (item index by hash).
type signingState struct {
	id, credentialID, client, accountID, status string
	sadHash                                     sql.NullString
	sadExpires                                  time.Time
	serial, credentialStatus                    string
	index                                       map[string]int
}

// findSigningState reads it in one statement; a request that is not there
// has id "".
func findSigningState(ctx context.Context, r reader, requestID string, hint int) (signingState, error) {
	var st signingState
	rows, err := r.Query(ctx, `SELECT r.id, r.credential_id, r.client, r.account_id, r.status, r.sad_hash, r.sad_expires_at,
		c.cert_serial, c.status, i.idx, i.hash
		FROM signing_requests r JOIN signing_credentials c ON c.id = r.credential_id JOIN signing_items i ON i.request_id = r.id
		WHERE r.id = ? ORDER BY i.idx`, requestID)
	if err != nil {
		return st, err
	}
	defer rows.Close()
	st.index = make(map[string]int, hint)
	var sadExpires int64
	for rows.Next() {
		var idx int
		var hash string
		if err := rows.Scan(&st.id, &st.credentialID, &st.client, &st.accountID, &st.status, &st.sadHash, &sadExpires,
			&st.serial, &st.credentialStatus, &idx, &hash); err != nil {
			return st, err
		}
		raw, err := base64.StdEncoding.DecodeString(hash)
		if err != nil {
			return st, err
		}
		st.index[string(raw)] = idx
	}
	st.sadExpires = time.UnixMicro(sadExpires)
	return st, rows.Err()
}

// sadUse is a request whose SAD a SignHash call uses up.
type sadUse struct{ id, sadHash string }

// useSADs marks done the approved requests whose SAD is still the one
// given and valid at tx.Now, and whose credential is active, and returns
// those it marked: one prepared
// statement by primary key each (a multi-row UPDATE … RETURNING, parsed
// anew for each group, cost the single writer more).
func useSADs(ctx context.Context, tx *db.Tx, uses []sadUse) (map[string]bool, error) {
	used := make(map[string]bool, len(uses))
	for _, u := range uses {
		ok, err := changed(tx.Exec(ctx, `UPDATE signing_requests SET status = ?, sad_hash = NULL WHERE id = ? AND sad_hash = ? AND status = ? AND sad_expires_at > ?
			AND EXISTS (SELECT 1 FROM signing_credentials c WHERE c.id = signing_requests.credential_id AND c.status = ?)`,
			RequestDone, u.id, u.sadHash, RequestApproved, kernel.Micros(tx.Now), CredentialActive))
		if err != nil {
			return nil, err
		}
		if ok {
			used[u.id] = true
		}
	}
	return used, nil
}

// findHandOff is when the SAD of an approved request of PDFs, not yet
// handed to its application, expires.
func findHandOff(ctx context.Context, r reader, client, accountID, id string) (time.Time, error) {
	var expires int64
	err := r.QueryRow(ctx, `SELECT sad_expires_at FROM signing_requests WHERE id = ? AND client = ? AND account_id = ? AND handoff = ? AND status = ? AND sad_hash IS NULL`,
		id, client, accountID, HandoffPoll, RequestApproved).Scan(&expires)
	return time.UnixMicro(expires).UTC(), err
}

// handOff records the SAD's hash of such a request, once, before it expires.
func handOff(ctx context.Context, tx *db.Tx, client, accountID, id, sadHash string) (bool, error) {
	return changed(tx.Exec(ctx, `UPDATE signing_requests SET sad_hash = ? WHERE id = ? AND client = ? AND account_id = ? AND handoff = ? AND status = ? AND sad_hash IS NULL AND sad_expires_at > ?`,
		sadHash, id, client, accountID, HandoffPoll, RequestApproved, kernel.Micros(tx.Now)))
}

// countClientRequests is 1 if the request is the holder's and the
// application's, 0 otherwise.
func countClientRequests(ctx context.Context, r reader, client, accountID, id string) (int, error) {
	var n int
	err := r.QueryRow(ctx, `SELECT COUNT(*) FROM signing_requests WHERE id = ? AND client = ? AND account_id = ?`, id, client, accountID).Scan(&n)
	return n, err
}

// dueExpiry is a request with a callback whose deadline passed.
type dueExpiry struct{ id, client, callback string }

// findDueExpiries lists up to 100 of them, oldest deadline first.
func findDueExpiries(ctx context.Context, r reader, now time.Time) ([]dueExpiry, error) {
	// The literals match the partial index signing_requests_callback_due.
	rows, err := r.Query(ctx, `SELECT id, client, callback_url FROM signing_requests
		WHERE status = 'pending' AND callback_url <> '' AND expires_at <= ? ORDER BY expires_at LIMIT 100`, kernel.Micros(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []dueExpiry
	for rows.Next() {
		var d dueExpiry
		if err := rows.Scan(&d.id, &d.client, &d.callback); err != nil {
			return nil, err
		}
		list = append(list, d)
	}
	return list, rows.Err()
}

// expireRequest marks a pending request whose deadline passed expired.
func expireRequest(ctx context.Context, tx *db.Tx, id string) (bool, error) {
	return changed(tx.Exec(ctx, `UPDATE signing_requests SET status = ?, decided_at = ? WHERE id = ? AND status = ? AND expires_at <= ?`,
		RequestExpired, kernel.Micros(tx.Now), id, RequestPending, kernel.Micros(tx.Now)))
}

// storeRows is the most rows one statement writes; each count up to it
// is its own statement, prepared once.
const storeRows = 32

// storeItems[k] writes the signatures of k items: one statement instead of
// k (VALUES columns are column1, column2, column3 in both SQLite and
// PostgreSQL).
var storeItems = func() (qs [storeRows + 1]string) {
	for k := 1; k <= storeRows; k++ {
		qs[k] = `UPDATE signing_items SET signature = v.column3, signed_at = ? FROM (VALUES ` +
			strings.Repeat("(?, CAST(? AS INTEGER), ?), ", k-1) + `(?, CAST(? AS INTEGER), ?)) AS v
			WHERE signing_items.request_id = v.column1 AND signing_items.idx = v.column2`
	}
	return qs
}()

// signedItem is the signature of one item of a request.
type signedItem struct {
	requestID string
	idx       int
	signature string // base64
}

// storeSignatures writes the signatures of items, storeRows at a time.
func storeSignatures(ctx context.Context, tx *db.Tx, items []signedItem, at int64) error {
	args := make([]any, 0, 1+3*storeRows)
	for len(items) > 0 {
		k := min(len(items), storeRows)
		args = append(args[:0], at)
		for _, it := range items[:k] {
			args = append(args, it.requestID, it.idx, it.signature)
		}
		res, err := tx.Exec(ctx, storeItems[k], args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(k) {
			return kernel.Wrap(fmt.Errorf("%d of %d items updated (%v)", n, k, err), "signing: store signatures")
		}
		items = items[k:]
	}
	return nil
}

// --- PDFs

func insertDocument(ctx context.Context, tx *db.Tx, r Request, idx int, d preparedPDF) error {
	_, err := tx.Exec(ctx, `INSERT INTO signing_documents (request_id, idx, account_id, name, original_sha256, session, prepared, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, idx, r.AccountID, d.name, d.original, d.json, d.file, kernel.Micros(tx.Now))
	return err
}

// findDocuments reads the PDFs of a request, in order, without their files.
func findDocuments(ctx context.Context, r reader, requestID string) ([]storedPDF, error) {
	rows, err := r.Query(ctx, `SELECT idx, account_id, name, original_sha256, session, signed_at FROM signing_documents WHERE request_id = ? ORDER BY idx`, requestID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedPDF
	for rows.Next() {
		var d storedPDF
		var sessJSON string
		var signedAt int64
		if err := rows.Scan(&d.idx, &d.accountID, &d.name, &d.original, &sessJSON, &signedAt); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(sessJSON), &d.session); err != nil {
			return nil, err
		}
		d.signed = signedAt != 0
		out = append(out, d)
	}
	return out, rows.Err()
}

// findDocumentFiles is one PDF's session and files: prepared, and signed
// once finished.
func findDocumentFiles(ctx context.Context, r reader, requestID string, idx int) (sessJSON string, prepared, signed []byte, err error) {
	err = r.QueryRow(ctx, `SELECT session, prepared, signed FROM signing_documents WHERE request_id = ? AND idx = ?`,
		requestID, idx).Scan(&sessJSON, &prepared, &signed)
	return sessJSON, prepared, signed, err
}

func findDocumentName(ctx context.Context, r reader, requestID string, idx int) (string, error) {
	var name string
	err := r.QueryRow(ctx, `SELECT name FROM signing_documents WHERE request_id = ? AND idx = ?`, requestID, idx).Scan(&name)
	return name, err
}

func countDocuments(ctx context.Context, r reader, accountID, requestID string) (int, error) {
	var n int
	err := r.QueryRow(ctx, `SELECT COUNT(*) FROM signing_documents WHERE request_id = ? AND account_id = ?`, requestID, accountID).Scan(&n)
	return n, err
}

func updateSignedDocument(ctx context.Context, tx *db.Tx, requestID string, idx int, signed []byte) error {
	_, err := tx.Exec(ctx, `UPDATE signing_documents SET signed = ?, signed_at = ? WHERE request_id = ? AND idx = ?`, signed, kernel.Micros(tx.Now), requestID, idx)
	return err
}

// deleteDocumentsBefore forgets PDFs made before t.
func deleteDocumentsBefore(ctx context.Context, tx *db.Tx, t time.Time) (int64, error) {
	res, err := tx.Exec(ctx, `DELETE FROM signing_documents WHERE created_at < ?`, kernel.Micros(t))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// findOwnDocuments lists the holder's own uploads (the first document of
// each of their own requests), newest first.
func findOwnDocuments(ctx context.Context, r reader, accountID, client string) ([]OwnDocument, error) {
	rows, err := r.Query(ctx, `SELECT d.request_id, d.name, d.created_at, r.status, r.expires_at
		FROM signing_documents d JOIN signing_requests r ON r.id = d.request_id
		WHERE d.account_id = ? AND d.idx = 0 AND r.client = ? AND r.account_id = ?
		ORDER BY d.created_at DESC, d.request_id`, accountID, client, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OwnDocument
	for rows.Next() {
		var d OwnDocument
		var created, expires int64
		if err := rows.Scan(&d.RequestID, &d.Name, &created, &d.Status, &expires); err != nil {
			return nil, err
		}
		d.Uploaded, d.expires = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// --- webhooks

func insertWebhook(ctx context.Context, tx *db.Tx, id, requestID, client, url, event, body string) error {
	_, err := tx.Exec(ctx, `INSERT INTO signing_webhooks (id, request_id, client, url, event, body, state, next_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, requestID, client, url, event, body, webhookPending, kernel.Micros(tx.Now), kernel.Micros(tx.Now))
	return err
}

// findWebhookSecrets is an application's sealed secrets: the current one,
// and the previous one with when it stops signing.
func findWebhookSecrets(ctx context.Context, r reader, client string) (cur, prev string, prevUntil time.Time, err error) {
	var until int64
	err = r.QueryRow(ctx, `SELECT secret, previous, previous_until FROM signing_webhook_secrets WHERE client = ?`, client).Scan(&cur, &prev, &until)
	return cur, prev, time.UnixMicro(until), err
}

func insertWebhookSecret(ctx context.Context, tx *db.Tx, client, sealed string) error {
	_, err := tx.Exec(ctx, `INSERT INTO signing_webhook_secrets (client, secret, created_at) VALUES (?, ?, ?)`, client, sealed, kernel.Micros(tx.Now))
	return err
}

// rotateWebhookSecret makes sealed the current secret and prev the
// previous one until until.
func rotateWebhookSecret(ctx context.Context, tx *db.Tx, client, sealed, prev string, until time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE signing_webhook_secrets SET secret = ?, previous = ?, previous_until = ?, created_at = ? WHERE client = ?`,
		sealed, prev, kernel.Micros(until), kernel.Micros(tx.Now), client)
	return err
}

// findDueWebhooks lists up to limit events due at now and not claimed.
func findDueWebhooks(ctx context.Context, r reader, now time.Time, limit int) ([]hook, error) {
	rows, err := r.Query(ctx, `SELECT id, request_id, client, url, event, body, attempts FROM signing_webhooks
		WHERE state = 'pending' AND next_at <= ? AND locked_until <= ? ORDER BY next_at LIMIT ?`, kernel.Micros(now), kernel.Micros(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var due []hook
	for rows.Next() {
		var h hook
		if err := rows.Scan(&h.id, &h.requestID, &h.client, &h.url, &h.event, &h.body, &h.attempts); err != nil {
			return nil, err
		}
		due = append(due, h)
	}
	return due, rows.Err()
}

// claimWebhook leases a pending event to this instance until until.
func claimWebhook(ctx context.Context, tx *db.Tx, id string, until time.Time) (bool, error) {
	return changed(tx.Exec(ctx, `UPDATE signing_webhooks SET locked_until = ? WHERE id = ? AND state = ? AND locked_until <= ?`,
		kernel.Micros(until), id, webhookPending, kernel.Micros(tx.Now)))
}

// recordWebhook records an attempt's outcome; done is 0 while pending.
func recordWebhook(ctx context.Context, tx *db.Tx, id, state string, attempt, status int, next time.Time, done int64) error {
	_, err := tx.Exec(ctx, `UPDATE signing_webhooks SET state = ?, attempts = ?, last_status = ?, next_at = ?, locked_until = 0, done_at = ? WHERE id = ?`,
		state, attempt, status, kernel.Micros(next), done, id)
	return err
}

// deleteWebhooksDoneBefore forgets events delivered or given up before t.
func deleteWebhooksDoneBefore(ctx context.Context, tx *db.Tx, t time.Time) (int64, error) {
	res, err := tx.Exec(ctx, `DELETE FROM signing_webhooks WHERE state <> ? AND done_at > 0 AND done_at < ?`, webhookPending, kernel.Micros(t))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// --- figures (figures.go)

// countCredentialsOf counts a holder's credentials, in any status.
func countCredentialsOf(ctx context.Context, tx *db.Tx, accountID string) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM signing_credentials WHERE account_id = ?`, accountID).Scan(&n)
	return n, err
}

// findActivation gives a credential's commune and how many other active
// credentials its holder has.
func findActivation(ctx context.Context, tx *db.Tx, accountID, credentialID string) (unit string, others int64, err error) {
	if err = tx.QueryRow(ctx, `SELECT unit_code FROM signing_credentials WHERE id = ?`, credentialID).Scan(&unit); err != nil {
		return "", 0, err
	}
	err = tx.QueryRow(ctx, `SELECT COUNT(*) FROM signing_credentials WHERE account_id = ? AND status = ? AND id <> ?`,
		accountID, CredentialActive, credentialID).Scan(&others)
	return unit, others, err
}

// eachCredentialHistory calls fn for every credential, oldest first.
func eachCredentialHistory(ctx context.Context, r reader, fn func(account, unit, status string, created, activated int64)) error {
	rows, err := r.Query(ctx, `SELECT account_id, unit_code, status, created_at, activated_at FROM signing_credentials ORDER BY created_at, id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var account, unit, status string
		var created, activated int64
		if err := rows.Scan(&account, &unit, &status, &created, &activated); err != nil {
			return err
		}
		fn(account, unit, status, created, activated)
	}
	return rows.Err()
}

// eachSignature calls fn for every signature made, with its signer's commune.
func eachSignature(ctx context.Context, r reader, fn func(unit string, at int64)) error {
	rows, err := r.Query(ctx, `SELECT c.unit_code, i.signed_at FROM signing_items i
		JOIN signing_requests r ON r.id = i.request_id JOIN signing_credentials c ON c.id = r.credential_id
		WHERE i.signed_at <> 0`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var unit string
		var at int64
		if err := rows.Scan(&unit, &at); err != nil {
			return err
		}
		fn(unit, at)
	}
	return rows.Err()
}

// countSignersPerUnit counts per commune the holders who signed in [from, to).
func countSignersPerUnit(ctx context.Context, r reader, from, to int64) (map[string]int64, error) {
	rows, err := r.Query(ctx, `SELECT c.unit_code, COUNT(DISTINCT r.account_id) FROM signing_items i
		JOIN signing_requests r ON r.id = i.request_id JOIN signing_credentials c ON c.id = r.credential_id
		WHERE i.signed_at >= ? AND i.signed_at < ? GROUP BY c.unit_code`, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var unit string
		var n int64
		if err := rows.Scan(&unit, &n); err != nil {
			return nil, err
		}
		out[unit] = n
	}
	return out, rows.Err()
}

// eachCredentialStatus calls fn with the holder and status of every
// credential of the accounts named (at most a few hundred at a time).
func eachCredentialStatus(ctx context.Context, r reader, accountIDs []any, fn func(account, status string)) error {
	rows, err := r.Query(ctx, `SELECT account_id, status FROM signing_credentials WHERE account_id IN (?`+strings.Repeat(",?", len(accountIDs)-1)+`)`, accountIDs...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var a, st string
		if err := rows.Scan(&a, &st); err != nil {
			return err
		}
		fn(a, st)
	}
	return rows.Err()
}
