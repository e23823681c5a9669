-- PDFs a holder uploads to sign themselves (internal/signing): the file as
-- prepared for their signature (signature space reserved), the PAdES session
-- that completes it once they approve, and the signed file. Kept until
-- downloaded and then for a day, so a lost download can be repeated.
CREATE TABLE signing_documents (
	request_id TEXT PRIMARY KEY,
	account_id TEXT NOT NULL,
	name TEXT NOT NULL,
	session TEXT NOT NULL,
	prepared BYTEA NOT NULL,
	signed BYTEA,
	created_at BIGINT NOT NULL,
	signed_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX signing_documents_created ON signing_documents (created_at);
