-- Trust anchors imported for validation (internal/pki anchors.go): roots
-- that are not this province's — the national root CA, other provinces',
-- CAs an agreement names. This province's own root is in pki_cas.
CREATE TABLE pki_anchors (
	fingerprint TEXT PRIMARY KEY, -- hex SHA-256 of the DER certificate
	name TEXT NOT NULL,
	cert TEXT NOT NULL,           -- base64 DER
	added_at BIGINT NOT NULL
);
