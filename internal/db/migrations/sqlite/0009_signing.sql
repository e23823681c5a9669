-- Remote signing (internal/signing): a holder's signing credentials, the
-- requests applications make to sign on their behalf, and the documents'
-- hashes each request covers. A key signs only for a request its holder
-- approved, through the Signature Activation Data (SAD) the approval gave:
-- single use, short lived, bound to exactly these hashes; only its SHA-256
-- is kept. A SAD names its request, so it is found by primary key.

CREATE TABLE signing_credentials (
	id TEXT PRIMARY KEY,
	account_id TEXT NOT NULL,
	unit_code TEXT NOT NULL DEFAULT '',
	cert_serial TEXT NOT NULL UNIQUE,
	status TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	activated_at BIGINT NOT NULL DEFAULT 0,
	last_used_at BIGINT NOT NULL DEFAULT 0,
	signatures BIGINT NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX signing_credentials_account ON signing_credentials (account_id);
CREATE INDEX signing_credentials_unit ON signing_credentials (unit_code, status);

CREATE TABLE signing_requests (
	id TEXT PRIMARY KEY,
	credential_id TEXT NOT NULL,
	account_id TEXT NOT NULL,
	client TEXT NOT NULL,
	description TEXT NOT NULL,
	status TEXT NOT NULL,
	items INTEGER NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	decided_at BIGINT NOT NULL DEFAULT 0,
	sad_hash TEXT,
	sad_expires_at BIGINT NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX signing_requests_account ON signing_requests (account_id, status, created_at);

CREATE TABLE signing_items (
	request_id TEXT NOT NULL,
	idx INTEGER NOT NULL,
	label TEXT NOT NULL,
	hash TEXT NOT NULL,
	signature TEXT NOT NULL DEFAULT '',
	signed_at BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (request_id, idx)
) WITHOUT ROWID;
