-- The document wallet (internal/wallet).

-- Documents issued to a person (citizen ID) or an organisation (enterprise
-- code). The credential (an SD-JWT VC with every disclosure) and its claims
-- are sealed under the key-encryption key; the columns beside them say only
-- what listing and status changes need.
CREATE TABLE wallet_documents (
	id TEXT PRIMARY KEY,
	type TEXT NOT NULL,
	holder_kind TEXT NOT NULL,
	holder_id TEXT NOT NULL,
	agency TEXT NOT NULL,
	issued_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL DEFAULT 0,
	status TEXT NOT NULL,
	status_list TEXT NOT NULL,
	status_idx INTEGER NOT NULL,
	sealed TEXT NOT NULL,
	hidden INTEGER NOT NULL DEFAULT 0,
	replaces TEXT NOT NULL DEFAULT '',
	changed_at BIGINT NOT NULL
);
CREATE INDEX wallet_documents_holder ON wallet_documents (holder_kind, holder_id, issued_at);

-- Each holder's key: documents are bound to it (cnf) and it signs the
-- holder's presentations. Sealed like the documents.
CREATE TABLE wallet_holder_keys (
	holder_kind TEXT NOT NULL,
	holder_id TEXT NOT NULL,
	private_sealed TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (holder_kind, holder_id)
);
