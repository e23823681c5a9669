package oidc

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// The provider's SQL, one helper per statement. Helpers that write take the
// caller's transaction (*db.Tx) and stamp rows with its clock. Helpers that
// read take a reader: the caller's transaction, or — for a read of its own,
// which one statement answers consistently — the database's reader pool,
// so that the hot paths (a token check per API call) pay no BEGIN and
// COMMIT. A row that is not there is sql.ErrNoRows, for the caller to name.

// reader runs reads: a *db.Tx or a *db.DB.
type reader interface {
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

var (
	_ reader = (*db.DB)(nil)
	_ reader = (*db.Tx)(nil)
)

// forUpdate locks the rows a PostgreSQL transaction reads before it
// changes them; SQLite's single writer needs no lock.
func forUpdate(tx *db.Tx) string {
	if tx.Dialect() == db.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// rowsAffected is the count of rows a statement changed.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// --- pushed requests and flows (oidc_requests) ---

// Kinds of stored authorization requests.
const (
	kindPAR  = "par"  // pushed by the client, redeemed once at authorize
	kindFlow = "flow" // a flow waiting for the browser (login, consent)
)

func insertRequest(ctx context.Context, tx *db.Tx, kind, idHash, clientID, params string, ttl time.Duration) error {
	_, err := tx.Exec(ctx, `INSERT INTO oidc_requests (id_hash, kind, client_id, params, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		idHash, kind, clientID, params, kernel.Micros(tx.Now), kernel.Micros(tx.Now.Add(ttl)))
	return err
}

// findRequest returns the client and parameters of a live request of kind.
func findRequest(ctx context.Context, q reader, kind, idHash string, now time.Time) (clientID, params string, err error) {
	err = q.QueryRow(ctx, `SELECT client_id, params FROM oidc_requests WHERE id_hash = ? AND kind = ? AND expires_at > ?`,
		idHash, kind, kernel.Micros(now)).Scan(&clientID, &params)
	return clientID, params, err
}

func deleteRequest(ctx context.Context, tx *db.Tx, idHash string) (int64, error) {
	return rowsAffected(tx.Exec(ctx, `DELETE FROM oidc_requests WHERE id_hash = ?`, idHash))
}

func updateFlow(ctx context.Context, tx *db.Tx, idHash, params string) (int64, error) {
	return rowsAffected(tx.Exec(ctx, `UPDATE oidc_requests SET params = ? WHERE id_hash = ? AND kind = ?`, params, idHash, kindFlow))
}

// --- consents (oidc_grants) ---

// findGrantScope returns the scopes an account granted a client.
func findGrantScope(ctx context.Context, q reader, accountID, clientID string) (string, error) {
	var scope string
	err := q.QueryRow(ctx, `SELECT scope FROM oidc_grants WHERE account_id = ? AND client_id = ?`, accountID, clientID).Scan(&scope)
	return scope, err
}

func insertGrant(ctx context.Context, tx *db.Tx, accountID, clientID, scope string) error {
	_, err := tx.Exec(ctx, `INSERT INTO oidc_grants (account_id, client_id, scope, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		accountID, clientID, scope, kernel.Micros(tx.Now), kernel.Micros(tx.Now))
	return err
}

func updateGrantScope(ctx context.Context, tx *db.Tx, accountID, clientID, scope string) error {
	_, err := tx.Exec(ctx, `UPDATE oidc_grants SET scope = ?, updated_at = ? WHERE account_id = ? AND client_id = ?`,
		scope, kernel.Micros(tx.Now), accountID, clientID)
	return err
}

func deleteGrant(ctx context.Context, tx *db.Tx, accountID, clientID string) (int64, error) {
	return rowsAffected(tx.Exec(ctx, `DELETE FROM oidc_grants WHERE account_id = ? AND client_id = ?`, accountID, clientID))
}

// listGrants returns an account's consents with their clients, by name.
func listGrants(ctx context.Context, q reader, accountID string) ([]Grant, error) {
	rows, err := q.Query(ctx, `SELECT g.client_id, c.name, c.purpose, g.scope, g.updated_at FROM oidc_grants g
		JOIN oidc_clients c ON c.id = g.client_id WHERE g.account_id = ? ORDER BY c.name`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		var g Grant
		var scope string
		var at int64
		if err := rows.Scan(&g.ClientID, &g.Name, &g.Purpose, &scope, &at); err != nil {
			return nil, err
		}
		g.Scopes, g.GrantedAt = strings.Fields(scope), kernel.FromMicros(at)
		out = append(out, g)
	}
	return out, rows.Err()
}

// --- authorization codes (oidc_codes) ---

// codeRow is an authorization code as stored.
type codeRow struct {
	clientID, accountID, grantData, redirectURI, challenge, nonce, jkt, familyID string
	expires, used                                                                int64
}

const codeColumns = `client_id, account_id, grant_data, redirect_uri, challenge, nonce, dpop_jkt, expires_at, used_at, family_id`

func (c *codeRow) scan(row *sql.Row) error {
	return row.Scan(&c.clientID, &c.accountID, &c.grantData, &c.redirectURI, &c.challenge, &c.nonce, &c.jkt, &c.expires, &c.used, &c.familyID)
}

func insertCode(ctx context.Context, tx *db.Tx, codeHash string, c codeRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO oidc_codes (code_hash, client_id, account_id, grant_data, redirect_uri, challenge, nonce, dpop_jkt, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, codeHash, c.clientID, c.accountID, c.grantData, c.redirectURI,
		c.challenge, c.nonce, c.jkt, kernel.Micros(tx.Now), c.expires)
	return err
}

// findCode reads a code in tx, locked until tx ends.
func findCode(ctx context.Context, tx *db.Tx, codeHash string) (codeRow, error) {
	var c codeRow
	err := c.scan(tx.QueryRow(ctx, `SELECT `+codeColumns+` FROM oidc_codes WHERE code_hash = ?`+forUpdate(tx), codeHash))
	return c, err
}

// peekCode reads a code outside any transaction (exchangeInOneStatement).
func peekCode(ctx context.Context, q reader, codeHash string) (codeRow, error) {
	var c codeRow
	err := c.scan(q.QueryRow(ctx, `SELECT `+codeColumns+` FROM oidc_codes WHERE code_hash = ?`, codeHash))
	return c, err
}

func spendCode(ctx context.Context, tx *db.Tx, codeHash, familyID string) error {
	_, err := tx.Exec(ctx, `UPDATE oidc_codes SET used_at = ?, family_id = ? WHERE code_hash = ?`, kernel.Micros(tx.Now), familyID, codeHash)
	return err
}

// exchangeCodeRelaxed spends a code on PostgreSQL in one statement committed
// without waiting for the WAL flush: it records the single-use IDs, marks
// the code used (only if it is unused), creates the family and its first
// refresh token, and returns that token's id. sql.ErrNoRows: the code was
// spent meanwhile.
func exchangeCodeRelaxed(ctx context.Context, d *db.DB, jtis []jtiRecord, codeHash string, fam family, grantData, refreshHash string, now time.Time) (int64, error) {
	var q strings.Builder
	var args []any
	q.WriteString("WITH ")
	if len(jtis) > 0 {
		q.WriteString("j AS (INSERT INTO oidc_jti (jti_hash, expires_at) VALUES (?, ?)" + strings.Repeat(", (?, ?)", len(jtis)-1) + "), ")
		for _, rec := range jtis {
			args = append(args, rec.hash, kernel.Micros(rec.expires))
		}
	}
	q.WriteString(`c AS (UPDATE oidc_codes SET used_at = ?, family_id = ? WHERE code_hash = ? AND used_at = 0 RETURNING client_id),
		f AS (INSERT INTO oidc_families (id, client_id, account_id, grant_data, dpop_jkt, created_at, expires_at)
			SELECT ?, client_id, ?, ?, ?, ?, ? FROM c RETURNING id)
		INSERT INTO oidc_refresh (secret_hash, family_id, created_at) SELECT ?, id, ? FROM f RETURNING id`)
	at := kernel.Micros(now)
	args = append(args, at, fam.id, codeHash,
		fam.id, fam.accountID, grantData, fam.jkt, at, kernel.Micros(now.Add(familyTTL)),
		refreshHash, at)
	var id int64
	err := d.WriteRowRelaxed(ctx, q.String(), args...).Scan(&id)
	return id, err
}

// --- pre-authorized codes (oidc_preauth_codes) ---

// preAuthRow is a pre-authorized code as stored.
type preAuthRow struct {
	accountID, resource, details, txHash, acr, familyID string
	authTime, expires, used                             int64
	failures                                            int
}

func insertPreAuth(ctx context.Context, tx *db.Tx, codeHash string, pa PreAuthorization, txHash string, expires time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO oidc_preauth_codes (code_hash, account_id, resource, details, tx_code_hash, acr, auth_time, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, codeHash, pa.AccountID, pa.Resource, string(pa.Details), txHash, pa.ACR,
		pa.AuthTime.Unix(), kernel.Micros(tx.Now), kernel.Micros(expires))
	return err
}

// findPreAuth reads a pre-authorized code in tx, locked until tx ends.
func findPreAuth(ctx context.Context, tx *db.Tx, codeHash string) (preAuthRow, error) {
	var c preAuthRow
	err := tx.QueryRow(ctx, `SELECT account_id, resource, details, tx_code_hash, acr, auth_time, failures, expires_at, used_at, family_id
		FROM oidc_preauth_codes WHERE code_hash = ?`+forUpdate(tx), codeHash).
		Scan(&c.accountID, &c.resource, &c.details, &c.txHash, &c.acr, &c.authTime, &c.failures, &c.expires, &c.used, &c.familyID)
	return c, err
}

// failPreAuth counts a wrong transaction code; spent ends the code too.
func failPreAuth(ctx context.Context, tx *db.Tx, codeHash string, failures int, spent bool) error {
	if spent {
		_, err := tx.Exec(ctx, `UPDATE oidc_preauth_codes SET failures = ?, used_at = ? WHERE code_hash = ?`, failures, kernel.Micros(tx.Now), codeHash)
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE oidc_preauth_codes SET failures = ? WHERE code_hash = ?`, failures, codeHash)
	return err
}

func spendPreAuth(ctx context.Context, tx *db.Tx, codeHash, familyID string) error {
	_, err := tx.Exec(ctx, `UPDATE oidc_preauth_codes SET used_at = ?, family_id = ? WHERE code_hash = ?`, kernel.Micros(tx.Now), familyID, codeHash)
	return err
}

// --- token families (oidc_families) and refresh tokens (oidc_refresh) ---

// insertFamily stores a grant of tokens; a client's own (client_credentials)
// or a wallet's (pre-authorized code) has no account or no client.
func insertFamily(ctx context.Context, tx *db.Tx, fam family, grantData string, ttl time.Duration) error {
	_, err := tx.Exec(ctx, `INSERT INTO oidc_families (id, client_id, account_id, grant_data, dpop_jkt, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		fam.id, fam.clientID, fam.accountID, grantData, fam.jkt, kernel.Micros(tx.Now), kernel.Micros(tx.Now.Add(ttl)))
	return err
}

// markFamilyRevoked ends a family unless it has ended already.
func markFamilyRevoked(ctx context.Context, tx *db.Tx, familyID string) error {
	_, err := tx.Exec(ctx, `UPDATE oidc_families SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, kernel.Micros(tx.Now), familyID)
	return err
}

// revokeClientFamilies ends every family a client holds for an account.
func revokeClientFamilies(ctx context.Context, tx *db.Tx, accountID, clientID string) error {
	_, err := tx.Exec(ctx, `UPDATE oidc_families SET revoked_at = ? WHERE account_id = ? AND client_id = ? AND revoked_at = 0`,
		kernel.Micros(tx.Now), accountID, clientID)
	return err
}

// findFamilyState returns whose a family is and whether it still stands.
func findFamilyState(ctx context.Context, q reader, familyID string) (accountID string, revoked, expires int64, err error) {
	err = q.QueryRow(ctx, `SELECT account_id, revoked_at, expires_at FROM oidc_families WHERE id = ?`, familyID).Scan(&accountID, &revoked, &expires)
	return accountID, revoked, expires, err
}

func findFamilyGrantData(ctx context.Context, q reader, familyID string) (string, error) {
	var gd string
	err := q.QueryRow(ctx, `SELECT grant_data FROM oidc_families WHERE id = ?`, familyID).Scan(&gd)
	return gd, err
}

// refreshRow is a refresh token with its family.
type refreshRow struct {
	secretHash             string
	fam                    family
	grantData              string
	expires, revoked, used int64
}

func findRefresh(ctx context.Context, q reader, id int64) (refreshRow, error) {
	var t refreshRow
	err := q.QueryRow(ctx, `SELECT t.secret_hash, f.id, f.client_id, f.account_id, f.grant_data, f.dpop_jkt, f.expires_at, f.revoked_at, t.used_at
		FROM oidc_refresh t JOIN oidc_families f ON f.id = t.family_id WHERE t.id = ?`, id).
		Scan(&t.secretHash, &t.fam.id, &t.fam.clientID, &t.fam.accountID, &t.grantData, &t.fam.jkt, &t.expires, &t.revoked, &t.used)
	return t, err
}

func insertRefresh(ctx context.Context, tx *db.Tx, secretHash, familyID string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO oidc_refresh (secret_hash, family_id, created_at) VALUES (?, ?, ?) RETURNING id`,
		secretHash, familyID, kernel.Micros(tx.Now)).Scan(&id)
	return id, err
}

// spendRefresh marks a refresh token used if it is unused and its family
// still stands: of two requests racing with one token only one changes a
// row.
func spendRefresh(ctx context.Context, tx *db.Tx, id int64, familyID string) (int64, error) {
	return rowsAffected(tx.Exec(ctx, `UPDATE oidc_refresh SET used_at = ? WHERE id = ? AND used_at = 0
		AND EXISTS (SELECT 1 FROM oidc_families WHERE id = ? AND revoked_at = 0)`, kernel.Micros(tx.Now), id, familyID))
}

// rotateSQL rotates a batch of refresh tokens on PostgreSQL in one
// statement (see rotate.go), per request (ord): record its single-use IDs
// (a key already present makes that request a replay and nothing else of
// it happens); spend the token if the secret matches, it is unspent and
// its family stands, belongs to the client, has not expired and is bound
// to this DPoP key; insert the successor only if the spend happened. Two
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

// rotationBatch is the arguments of rotateSQL, one element per request
// (and per single-use ID for the j* arrays).
type rotationBatch struct {
	ords                          []int32
	ids                           []int64
	secrets, clients, jkts, nexts []string
	jOrds                         []int32
	jHashes                       []string
	jExp                          []int64
}

// rotateRefreshTokens runs rotateSQL for a batch, committed without waiting
// for the WAL flush. Each row is (ord, new id, family id, account, grant
// data, DPoP key); a new id of 0 marks a replay. The caller closes the rows.
func rotateRefreshTokens(ctx context.Context, d *db.DB, b *rotationBatch, now time.Time) (*sql.Rows, error) {
	at := kernel.Micros(now)
	return d.QueryRelaxed(ctx, rotateSQL, b.ords, b.ids, b.secrets, b.clients, b.jkts, b.nexts, b.jOrds, b.jHashes, b.jExp, at, at, at)
}

// --- single-use IDs (oidc_jti) ---

// insertJTIs stores single-use IDs in one statement; a unique violation
// means one was used before.
func insertJTIs(ctx context.Context, tx *db.Tx, recs []jtiRecord) error {
	if len(recs) == 0 {
		return nil
	}
	q, args := jtiInsert(recs)
	_, err := tx.Exec(ctx, q, args...)
	return err
}

// insertJTIsRelaxed is insertJTIs as a statement of its own, committed
// without waiting for the WAL flush on PostgreSQL.
func insertJTIsRelaxed(ctx context.Context, d *db.DB, recs []jtiRecord) error {
	if len(recs) == 0 {
		return nil
	}
	q, args := jtiInsert(recs)
	var at int64
	return d.WriteRowRelaxed(ctx, q+` RETURNING expires_at`, args...).Scan(&at)
}

func jtiInsert(recs []jtiRecord) (string, []any) {
	q := `INSERT INTO oidc_jti (jti_hash, expires_at) VALUES (?, ?)` + strings.Repeat(`, (?, ?)`, len(recs)-1)
	args := make([]any, 0, 2*len(recs))
	for _, rec := range recs {
		args = append(args, rec.hash, kernel.Micros(rec.expires))
	}
	return q, args
}

// --- clients (oidc_clients) ---

func insertClient(ctx context.Context, tx *db.Tx, c *Client, secretHash string) error {
	uris, _ := json.Marshal(c.RedirectURIs)
	jwks := ""
	if c.AuthMethod == AuthPrivateKeyJWT {
		b, _ := json.Marshal(c.JWKS)
		jwks = string(b)
	}
	par := 0
	if c.RequirePAR {
		par = 1
	}
	_, err := tx.Exec(ctx, `INSERT INTO oidc_clients (id, name, purpose, redirect_uris, auth_method, secret_hash, jwks, require_par, sector, agency, scopes, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.Name, c.Purpose, string(uris), c.AuthMethod, secretHash, jwks, par, c.Sector,
		c.Agency, strings.Join(c.Scopes, " "), kernel.Micros(tx.Now))
	return err
}

// findClient reads a client's registration.
func findClient(ctx context.Context, q reader, id string) (*Client, error) {
	c := &Client{ID: id}
	var uris, jwks, scopes string
	var par int
	err := q.QueryRow(ctx, `SELECT name, purpose, redirect_uris, auth_method, secret_hash, jwks, require_par, sector, agency, scopes FROM oidc_clients WHERE id = ?`, id).
		Scan(&c.Name, &c.Purpose, &uris, &c.AuthMethod, &c.secretHash, &jwks, &par, &c.Sector, &c.Agency, &scopes)
	if err != nil {
		return nil, err
	}
	c.RequirePAR, c.Scopes = par == 1, strings.Fields(scopes)
	if err := json.Unmarshal([]byte(uris), &c.RedirectURIs); err != nil {
		return nil, kernel.Wrap(err, "oidc: client %s", id)
	}
	if jwks != "" {
		if err := json.Unmarshal([]byte(jwks), &c.JWKS); err != nil {
			return nil, kernel.Wrap(err, "oidc: client %s", id)
		}
	}
	return c, nil
}

// --- signing keys (oidc_keys) and secrets (oidc_settings) ---

// keyRow is a signing key as stored: the private key sealed.
type keyRow struct {
	kid, sealed, publicJWK string
	activeFrom             int64
}

// listKeys returns every signing key, oldest first.
func listKeys(ctx context.Context, q reader) ([]keyRow, error) {
	rows, err := q.Query(ctx, `SELECT kid, private_sealed, public_jwk, active_from FROM oidc_keys ORDER BY active_from, kid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyRow
	for rows.Next() {
		var k keyRow
		if err := rows.Scan(&k.kid, &k.sealed, &k.publicJWK, &k.activeFrom); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func insertKey(ctx context.Context, tx *db.Tx, k keyRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO oidc_keys (kid, alg, private_sealed, public_jwk, created_at, active_from) VALUES (?, 'ES256', ?, ?, ?, ?)`,
		k.kid, k.sealed, k.publicJWK, kernel.Micros(tx.Now), k.activeFrom)
	return err
}

func deleteKey(ctx context.Context, tx *db.Tx, kid string) error {
	_, err := tx.Exec(ctx, `DELETE FROM oidc_keys WHERE kid = ?`, kid)
	return err
}

func findSetting(ctx context.Context, q reader, name string) (string, error) {
	var v string
	err := q.QueryRow(ctx, `SELECT value FROM oidc_settings WHERE name = ?`, name).Scan(&v)
	return v, err
}

func insertSetting(ctx context.Context, tx *db.Tx, name, value string) error {
	_, err := tx.Exec(ctx, `INSERT INTO oidc_settings (name, value) VALUES (?, ?)`, name, value)
	return err
}

// --- cleanup ---

// deleteExpired deletes what has expired by tx.Now: requests, codes,
// single-use IDs, families, and refresh tokens older than any family lives
// (used tokens are kept while their family lives, to detect reuse). It
// returns the number of rows deleted.
func deleteExpired(ctx context.Context, tx *db.Tx) (int64, error) {
	now := kernel.Micros(tx.Now)
	var n int64
	for _, del := range []struct {
		q      string
		before int64
	}{
		{`DELETE FROM oidc_requests WHERE expires_at < ?`, now},
		{`DELETE FROM oidc_codes WHERE expires_at < ?`, now},
		{`DELETE FROM oidc_preauth_codes WHERE expires_at < ?`, now},
		{`DELETE FROM oidc_jti WHERE expires_at < ?`, now},
		{`DELETE FROM oidc_refresh WHERE created_at < ?`, kernel.Micros(tx.Now.Add(-familyTTL))},
		{`DELETE FROM oidc_families WHERE expires_at < ?`, now},
	} {
		k, err := rowsAffected(tx.Exec(ctx, del.q, del.before))
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}
