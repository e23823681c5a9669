-- Sharing wallet documents by QR code or short code (internal/wallet,
-- share.go), and every verification of a share.

-- A share: the holder's choice of one document's claims, for a purpose,
-- until expires_at. Only a keyed hash of its code is kept (the code is a
-- bearer secret: who has it sees the claims). The presentation itself is
-- made anew at every verification, so nothing of the document is here.
CREATE TABLE wallet_shares (
	id TEXT PRIMARY KEY,
	code_hash TEXT NOT NULL UNIQUE,
	document_id TEXT NOT NULL,
	holder_kind TEXT NOT NULL,
	holder_id TEXT NOT NULL,
	claims TEXT NOT NULL,
	purpose TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	max_uses INTEGER NOT NULL DEFAULT 0,
	uses INTEGER NOT NULL DEFAULT 0,
	revoked INTEGER NOT NULL DEFAULT 0,
	ended_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX wallet_shares_holder ON wallet_shares (holder_kind, holder_id, created_at);
CREATE INDEX wallet_shares_document ON wallet_shares (document_id, expires_at);

-- Each verification of a share, as its holder's history shows it: who
-- ('public', or the code of the official's agency), when, and the verdict.
CREATE TABLE wallet_share_checks (
	id TEXT PRIMARY KEY,
	share_id TEXT NOT NULL REFERENCES wallet_shares (id),
	holder_kind TEXT NOT NULL,
	holder_id TEXT NOT NULL,
	checked_at BIGINT NOT NULL,
	verifier TEXT NOT NULL,
	verifier_account TEXT NOT NULL DEFAULT '',
	verdict TEXT NOT NULL
);
CREATE INDEX wallet_share_checks_holder ON wallet_share_checks (holder_kind, holder_id, checked_at);
CREATE INDEX wallet_share_checks_share ON wallet_share_checks (share_id);

-- The key of the codes' hashes, sealed under the key-encryption key: a
-- copy of the database alone cannot try the 2^40 codes offline.
CREATE TABLE wallet_share_keys (
	id INTEGER PRIMARY KEY,
	sealed TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
