-- The data exchange (internal/exchange): rights granted to consumers per
-- service and field set, the hash-chained log of every read of a person's
-- data by someone else (exchange queries, officials' desk look-ups, wallet
-- queries, ...) and of the queries this province sent to peers, its
-- time-stamped checkpoints, and the peer provinces.

-- A consumer's right to a service: the fields it may receive, why (legal
-- basis), until when (0: no end) and whether it was withdrawn. One row per
-- consumer and service; a new grant replaces the old.
CREATE TABLE exchange_grants (
	consumer TEXT NOT NULL,
	service TEXT NOT NULL,
	fields TEXT NOT NULL,
	basis TEXT NOT NULL,
	until_at BIGINT NOT NULL DEFAULT 0,
	granted_by TEXT NOT NULL,
	granted_at BIGINT NOT NULL,
	revoked_at BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (consumer, service)
);

-- The message and data-use log. kind 'use' is a read of the data of the
-- subject (a person by citizen ID, or an organisation by enterprise code)
-- by someone else; kind 'sent' a query this province sent to a peer. Every
-- row is chained to the one before it (prev_hash, hash) like the audit log.
CREATE TABLE exchange_log (
	seq BIGINT PRIMARY KEY,
	id TEXT NOT NULL,
	at BIGINT NOT NULL,
	kind TEXT NOT NULL,
	subject_kind TEXT NOT NULL,
	subject TEXT NOT NULL,
	related INTEGER NOT NULL DEFAULT 0,
	unit TEXT NOT NULL DEFAULT '',
	reader_kind TEXT NOT NULL,
	reader_id TEXT NOT NULL,
	consumer TEXT NOT NULL,
	agency TEXT NOT NULL DEFAULT '',
	reader_name TEXT NOT NULL DEFAULT '',
	post TEXT NOT NULL DEFAULT '',
	channel TEXT NOT NULL,
	service TEXT NOT NULL,
	fields TEXT NOT NULL DEFAULT '',
	purpose TEXT NOT NULL DEFAULT '',
	case_ref TEXT NOT NULL DEFAULT '',
	peer TEXT NOT NULL DEFAULT '',
	message TEXT NOT NULL DEFAULT '',
	data_sha256 TEXT NOT NULL DEFAULT '',
	receipt TEXT NOT NULL DEFAULT '',
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL
);
-- A person's reads, newest first, with what the page filters on: a
-- filtered page is found in the index and only its rows are read.
CREATE INDEX exchange_log_subject ON exchange_log (subject, kind, seq, service, purpose, channel, at);

-- The protected headers of the receipts in the log, by the SHA-256 of
-- their base64url text: every receipt a seal signs has the same header
-- (its x5c chain is most of a receipt), kept once; the log's rows name it.
CREATE TABLE exchange_receipt_headers (
	digest TEXT PRIMARY KEY,
	header TEXT NOT NULL
);

CREATE TABLE exchange_log_head (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	seq BIGINT NOT NULL,
	hash TEXT NOT NULL
);
INSERT INTO exchange_log_head (id, seq, hash) VALUES (1, 0, '');

-- The head of the log at a time, time-stamped by the TSA (RFC 3161 token
-- over the checkpoint's digest), in batches.
CREATE TABLE exchange_checkpoints (
	seq BIGINT PRIMARY KEY,
	hash TEXT NOT NULL,
	at BIGINT NOT NULL,
	timestamp_token TEXT NOT NULL
);

-- Other civitas installations this one exchanges with: their public URL,
-- the peer endpoint discovered from it, and the root their certificates
-- must chain to (DER, base64).
CREATE TABLE exchange_peers (
	name TEXT PRIMARY KEY,
	url TEXT NOT NULL,
	endpoint TEXT NOT NULL DEFAULT '',
	root TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	added_at BIGINT NOT NULL
);
