-- Signed checkpoints of the audit log (internal/pki): the head of the hash
-- chain at a moment, sealed with the audit key of the CA hierarchy and, when
-- a time-stamping unit runs, time-stamped. Rewriting history then needs the
-- sealing key, not just write access to the database.
CREATE TABLE audit_checkpoints (
	seq BIGINT PRIMARY KEY,
	hash TEXT NOT NULL,
	at BIGINT NOT NULL,
	signer_serial TEXT NOT NULL,
	signature TEXT NOT NULL,
	timestamp_token TEXT NOT NULL DEFAULT ''
);
