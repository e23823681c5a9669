-- The OpenID Provider (internal/oidc): signing keys, relying parties, pushed
-- requests and authorization flows, codes, token families and refresh tokens,
-- consents, and single-use JWT IDs (DPoP proofs, client assertions).

CREATE TABLE oidc_keys (
	kid TEXT PRIMARY KEY,
	alg TEXT NOT NULL,
	private_sealed TEXT NOT NULL,
	public_jwk TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	active_from BIGINT NOT NULL
) WITHOUT ROWID;

CREATE TABLE oidc_settings (
	name TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE oidc_clients (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	purpose TEXT NOT NULL,
	redirect_uris TEXT NOT NULL,
	auth_method TEXT NOT NULL CHECK (auth_method IN ('private_key_jwt', 'client_secret_basic', 'none')),
	secret_hash TEXT NOT NULL DEFAULT '',
	jwks TEXT NOT NULL DEFAULT '',
	require_par INTEGER NOT NULL DEFAULT 0,
	sector TEXT NOT NULL,
	created_at BIGINT NOT NULL
) WITHOUT ROWID;

-- kind 'par': a pushed request, found by its request_uri; kind 'flow': an
-- authorization under way (login, consent), found by its flow token.
CREATE TABLE oidc_requests (
	id_hash TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	client_id TEXT NOT NULL,
	params TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
) WITHOUT ROWID;
CREATE INDEX oidc_requests_expires ON oidc_requests (expires_at);

CREATE TABLE oidc_codes (
	code_hash TEXT PRIMARY KEY,
	client_id TEXT NOT NULL,
	account_id TEXT NOT NULL,
	grant_data TEXT NOT NULL,
	redirect_uri TEXT NOT NULL,
	challenge TEXT NOT NULL,
	nonce TEXT NOT NULL,
	dpop_jkt TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT NOT NULL DEFAULT 0,
	family_id TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX oidc_codes_expires ON oidc_codes (expires_at);

-- A family is one grant to one client: the tokens of one code exchange and
-- all refresh tokens rotated from them. Revoking it stops them all.
CREATE TABLE oidc_families (
	id TEXT PRIMARY KEY,
	client_id TEXT NOT NULL,
	account_id TEXT NOT NULL,
	grant_data TEXT NOT NULL,
	dpop_jkt TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX oidc_families_account ON oidc_families (account_id, client_id);
CREATE INDEX oidc_families_expires ON oidc_families (expires_at);

CREATE TABLE oidc_refresh (
	token_hash TEXT PRIMARY KEY,
	family_id TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	used_at BIGINT NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX oidc_refresh_family ON oidc_refresh (family_id);

CREATE TABLE oidc_grants (
	account_id TEXT NOT NULL,
	client_id TEXT NOT NULL,
	scope TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (account_id, client_id)
) WITHOUT ROWID;

CREATE TABLE oidc_jti (
	jti_hash TEXT PRIMARY KEY,
	expires_at BIGINT NOT NULL
) WITHOUT ROWID;
CREATE INDEX oidc_jti_expires ON oidc_jti (expires_at);
