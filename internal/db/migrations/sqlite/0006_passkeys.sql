-- Passkeys (WebAuthn, internal/identity). A login names its passkey by the
-- credential ID the authenticator chose, so passkeys are found by it, and it
-- is never registered twice. The signature counter has its own column so a
-- login can advance it with a compare-and-set: two uses of one counter value
-- (a cloned authenticator) cannot both succeed. No code wrote passkeys
-- before this migration, so the table is empty when the index is made.
ALTER TABLE passkeys ADD COLUMN credential_id TEXT NOT NULL DEFAULT '';
ALTER TABLE passkeys ADD COLUMN sign_count BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX passkeys_credential ON passkeys (credential_id);

-- A WebAuthn ceremony between its two requests: the challenge and what the
-- check needs again, bound to the browser session that began it, used once,
-- deleted when it expires. Only the hash of the flow ID the browser holds is kept.
CREATE TABLE passkey_challenges (
	id_hash TEXT PRIMARY KEY,
	session_id TEXT NOT NULL,
	purpose TEXT NOT NULL CHECK (purpose IN ('register', 'login')),
	account_id TEXT NOT NULL DEFAULT '',
	data TEXT NOT NULL,
	expires_at BIGINT NOT NULL
) WITHOUT ROWID;
CREATE INDEX passkey_challenges_session ON passkey_challenges (session_id, purpose);
CREATE INDEX passkey_challenges_expires ON passkey_challenges (expires_at);
