-- The token endpoint writes a single-use ID and a refresh token on every
-- grant. Keyed by random hashes, each write dirtied its own page of a large
-- B-tree; keyed by time (single-use IDs) and by a sequence (refresh tokens),
-- the writes of a busy second land on the same few newest pages.

-- A replayed proof or assertion carries the same claims, so the same expiry:
-- (expires_at, jti_hash) is as unique as jti_hash for catching replays.
CREATE TABLE oidc_jti_new (
	expires_at BIGINT NOT NULL,
	jti_hash TEXT NOT NULL,
	PRIMARY KEY (expires_at, jti_hash)
) WITHOUT ROWID;
INSERT INTO oidc_jti_new (expires_at, jti_hash) SELECT expires_at, jti_hash FROM oidc_jti;
DROP TABLE oidc_jti;
ALTER TABLE oidc_jti_new RENAME TO oidc_jti;

-- A refresh token is now "<id>.<secret>": looked up by id, checked by the
-- secret's hash. Tokens of the old form stop working: their holders log in
-- again once.
DROP TABLE oidc_refresh;
CREATE TABLE oidc_refresh (
	id INTEGER PRIMARY KEY,
	secret_hash TEXT NOT NULL,
	family_id TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	used_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX oidc_refresh_created ON oidc_refresh (created_at);
