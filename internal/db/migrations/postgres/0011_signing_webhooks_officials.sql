-- Remote signing (internal/signing), second step: webhooks, PDFs that
-- applications send to be signed (CSC signatures/signDoc), and officials
-- signing in their capacity.

-- An official's credential names the post it signs in, as its certificate
-- does (the Officials CA's subject: title and agency). Empty for a citizen's.
ALTER TABLE signing_credentials ADD COLUMN agency_code TEXT NOT NULL DEFAULT '';
ALTER TABLE signing_credentials ADD COLUMN agency_name TEXT NOT NULL DEFAULT '';
ALTER TABLE signing_credentials ADD COLUMN title TEXT NOT NULL DEFAULT '';

-- callback_url: where the application that submitted a request is told it
-- was approved, refused or expired. handoff 'poll': the holder's approval
-- gives its SAD to the application once, on its next poll, instead of
-- signing at once (PDFs the application finishes with signDoc).
ALTER TABLE signing_requests ADD COLUMN callback_url TEXT NOT NULL DEFAULT '';
ALTER TABLE signing_requests ADD COLUMN handoff TEXT NOT NULL DEFAULT '';
-- Only requests with a callback are swept for expiry events; the literals
-- let the sweep's query use this small partial index.
CREATE INDEX signing_requests_callback_due ON signing_requests (expires_at) WHERE status = 'pending' AND callback_url <> '';

-- A request may now carry several PDFs, numbered from 0. original_sha256
-- recognises the same file sent again to signDoc.
CREATE TABLE signing_documents_new (
	request_id TEXT NOT NULL,
	idx INTEGER NOT NULL,
	account_id TEXT NOT NULL,
	name TEXT NOT NULL,
	original_sha256 TEXT NOT NULL DEFAULT '',
	session TEXT NOT NULL,
	prepared BYTEA NOT NULL,
	signed BYTEA,
	created_at BIGINT NOT NULL,
	signed_at BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (request_id, idx)
);
INSERT INTO signing_documents_new (request_id, idx, account_id, name, session, prepared, signed, created_at, signed_at)
	SELECT request_id, 0, account_id, name, session, prepared, signed, created_at, signed_at FROM signing_documents;
DROP TABLE signing_documents;
ALTER TABLE signing_documents_new RENAME TO signing_documents;
ALTER INDEX signing_documents_new_pkey RENAME TO signing_documents_pkey;
CREATE INDEX signing_documents_created ON signing_documents (created_at);

-- Each application's webhook secret, sealed under the key-encryption key;
-- after a rotation the previous one still signs for a day, so receivers
-- can switch without losing events.
CREATE TABLE signing_webhook_secrets (
	client TEXT PRIMARY KEY,
	secret TEXT NOT NULL,
	previous TEXT NOT NULL DEFAULT '',
	previous_until BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL
);

-- The webhook outbox: an event is written in the transaction that decides
-- the request, so none is lost on a restart, and delivered by the worker
-- (state pending, then delivered or failed after its last try). A worker
-- claims a row by moving locked_until, so two instances never post the
-- same event at once.
CREATE TABLE signing_webhooks (
	id TEXT PRIMARY KEY,
	request_id TEXT NOT NULL,
	client TEXT NOT NULL,
	url TEXT NOT NULL,
	event TEXT NOT NULL,
	body TEXT NOT NULL,
	state TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_at BIGINT NOT NULL,
	locked_until BIGINT NOT NULL DEFAULT 0,
	last_status INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	done_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX signing_webhooks_due ON signing_webhooks (next_at) WHERE state = 'pending';
CREATE INDEX signing_webhooks_done ON signing_webhooks (done_at);
