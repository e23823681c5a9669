-- Trust services (internal/pki): keys, the CA hierarchy, issued certificates.

-- Keys by label. The software backend keeps the private key sealed under the
-- key-encryption key (AES-256-GCM, the label as associated data); a PKCS#11
-- key lives in the token and only its label is here.
CREATE TABLE pki_keys (
	label TEXT PRIMARY KEY,
	backend TEXT NOT NULL,
	algorithm TEXT NOT NULL,
	private_sealed TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL
) WITHOUT ROWID;

-- The root and issuing CAs and the service certificates (TSA, OCSP signers).
CREATE TABLE pki_cas (
	name TEXT PRIMARY KEY,
	issuer TEXT NOT NULL,
	key_label TEXT NOT NULL,
	cert TEXT NOT NULL,
	created_at BIGINT NOT NULL
) WITHOUT ROWID;

-- Every certificate an issuing CA signed, for OCSP, CRLs and uniqueness of
-- public keys (Decree 23/2025).
CREATE TABLE pki_certs (
	serial TEXT PRIMARY KEY,
	ca TEXT NOT NULL,
	kind TEXT NOT NULL,
	account_id TEXT NOT NULL DEFAULT '',
	subject TEXT NOT NULL,
	spki_sha256 TEXT NOT NULL,
	key_label TEXT NOT NULL DEFAULT '',
	cert TEXT NOT NULL,
	not_before BIGINT NOT NULL,
	not_after BIGINT NOT NULL,
	revoked_at BIGINT NOT NULL DEFAULT 0,
	reason INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX pki_certs_spki ON pki_certs (spki_sha256);
CREATE INDEX pki_certs_account ON pki_certs (account_id);
CREATE INDEX pki_certs_revoked ON pki_certs (ca, revoked_at);
