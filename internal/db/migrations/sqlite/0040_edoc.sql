-- Officials' documents (internal/edoc): outgoing and incoming documents of
-- the agencies, their files and versions, the sign-off steps with their
-- start and end (the waiting time at every desk), the registers' number
-- sequences, the envelopes sent and received with their ordered status
-- messages (QCVN 102 codes), the delivery outbox and the refusals log.

CREATE TABLE edoc_documents (
	id TEXT PRIMARY KEY,
	agency TEXT NOT NULL,             -- the agency whose register holds it
	unit TEXT NOT NULL,               -- the agency's unit, for figures
	direction TEXT NOT NULL,          -- out, in
	doc_type TEXT NOT NULL,           -- Decree 30 abbreviation: QĐ, CV, TB, ...
	subject TEXT NOT NULL,
	urgency TEXT NOT NULL,            -- normal, urgent, express, flash
	confidentiality TEXT NOT NULL,    -- normal, confidential, secret, top_secret
	drafting_unit TEXT NOT NULL,      -- the symbol of an official letter: UBND-VP
	status TEXT NOT NULL,             -- draft, signing, signed, returned, registered, sent, received, assigned, processing, completed, recalled
	drafter TEXT NOT NULL,            -- account ID, or "" for an import
	signer TEXT NOT NULL,             -- account ID of the leader asked to sign
	signed_by TEXT NOT NULL,          -- account ID who signed, "" before
	handler TEXT NOT NULL,            -- incoming: the account assigned
	version INTEGER NOT NULL,         -- the main file's current version
	reg_year INTEGER NOT NULL,        -- 0 before registration
	reg_number BIGINT NOT NULL,
	symbol TEXT NOT NULL,             -- "123/QĐ-UBND", "" before registration
	issued_at BIGINT NOT NULL,
	due_at BIGINT NOT NULL,           -- answer wanted by, 0 for none
	from_peer TEXT NOT NULL,          -- incoming: the sender's installation ("" here)
	from_agency TEXT NOT NULL,        -- incoming: the sending agency
	from_symbol TEXT NOT NULL,        -- incoming: its number and symbol there
	envelope_id TEXT NOT NULL,        -- incoming: the envelope that brought it
	traces TEXT NOT NULL,             -- space-separated symbols this answers
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX edoc_documents_agency ON edoc_documents (agency, direction, status, created_at);
CREATE INDEX edoc_documents_signer ON edoc_documents (signer, status, updated_at);
CREATE UNIQUE INDEX edoc_documents_number ON edoc_documents (agency, direction, reg_year, doc_type, reg_number) WHERE reg_number > 0;

CREATE TABLE edoc_recipients (
	document_id TEXT NOT NULL REFERENCES edoc_documents (id),
	peer TEXT NOT NULL,               -- "" for this installation
	agency TEXT NOT NULL,
	PRIMARY KEY (document_id, peer, agency)
);

CREATE TABLE edoc_files (
	document_id TEXT NOT NULL REFERENCES edoc_documents (id),
	version INTEGER NOT NULL,         -- main file: 1, 2, ...; attachments keep the version they came with
	seq INTEGER NOT NULL,             -- 0 the main file, 1.. attachments
	name TEXT NOT NULL,
	media_type TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	data BLOB NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (document_id, version, seq)
);

-- The registers: one sequence per agency, direction, year and type,
-- moved inside the transaction that registers, so a failure leaves no gap.
CREATE TABLE edoc_sequences (
	agency TEXT NOT NULL,
	direction TEXT NOT NULL,
	reg_year INTEGER NOT NULL,
	doc_type TEXT NOT NULL,
	last BIGINT NOT NULL,
	PRIMARY KEY (agency, direction, reg_year, doc_type)
);

-- Every step: who was asked, when it started, when it ended and how.
CREATE TABLE edoc_steps (
	id TEXT PRIMARY KEY,
	document_id TEXT NOT NULL REFERENCES edoc_documents (id),
	agency TEXT NOT NULL,
	kind TEXT NOT NULL,               -- review, sign, register, assign, process, answer
	actor TEXT NOT NULL,              -- the account asked ("" for the agency's clerks)
	version INTEGER NOT NULL,         -- the version of the main file it is about
	started_at BIGINT NOT NULL,
	ended_at BIGINT NOT NULL,         -- 0 while it waits
	outcome TEXT NOT NULL,            -- approved, returned, done; "" while it waits
	comment TEXT NOT NULL,
	done_by TEXT NOT NULL
);
CREATE INDEX edoc_steps_open ON edoc_steps (agency, ended_at, started_at);
CREATE INDEX edoc_steps_actor ON edoc_steps (actor, ended_at, started_at);
CREATE INDEX edoc_steps_document ON edoc_steps (document_id, started_at);

CREATE TABLE edoc_envelopes (
	id TEXT NOT NULL,
	direction TEXT NOT NULL,          -- out, in
	document_id TEXT NOT NULL,        -- the sender's document (out) or the recipient's (in)
	from_peer TEXT NOT NULL,
	from_agency TEXT NOT NULL,
	to_peer TEXT NOT NULL,
	to_agency TEXT NOT NULL,
	xml BLOB NOT NULL,                -- the signed envelope, as sent or received
	sha256 TEXT NOT NULL,             -- of its canonical bytes: a resend must match
	created_at BIGINT NOT NULL,
	PRIMARY KEY (id, direction)       -- within one province both ends are here
);
CREATE INDEX edoc_envelopes_document ON edoc_envelopes (document_id);

-- Receipts: an envelope is taken in once, whoever delivers it again.
CREATE TABLE edoc_receipts (
	envelope_id TEXT PRIMARY KEY,
	document_id TEXT NOT NULL,
	received_at BIGINT NOT NULL
);

-- Status messages about an envelope, in order (QCVN 102 codes).
CREATE TABLE edoc_status (
	envelope_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	code TEXT NOT NULL,               -- 01 arrived ... 16 recall refused
	at BIGINT NOT NULL,
	peer TEXT NOT NULL,
	agency TEXT NOT NULL,             -- who says so
	note TEXT NOT NULL,
	PRIMARY KEY (envelope_id, seq)
);

-- Delivery: one row per envelope to deliver, taken under a lease.
CREATE TABLE edoc_outbox (
	envelope_id TEXT PRIMARY KEY,
	attempts INTEGER NOT NULL,
	next_at BIGINT NOT NULL,
	holder TEXT NOT NULL,
	lease_until BIGINT NOT NULL,
	last_error TEXT NOT NULL,
	delivered_at BIGINT NOT NULL      -- 0 until delivered
);
CREATE INDEX edoc_outbox_due ON edoc_outbox (delivered_at, next_at);

-- Envelopes refused on receipt: bad signature, unknown peer, replay.
CREATE TABLE edoc_refusals (
	id TEXT PRIMARY KEY,
	envelope_id TEXT NOT NULL,
	peer TEXT NOT NULL,
	from_agency TEXT NOT NULL,
	reason TEXT NOT NULL,
	at BIGINT NOT NULL
);
CREATE INDEX edoc_refusals_at ON edoc_refusals (at);

-- Status messages to send back to a sender in another installation.
CREATE TABLE edoc_status_outbox (
	envelope_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	peer TEXT NOT NULL,
	attempts INTEGER NOT NULL,
	next_at BIGINT NOT NULL,
	holder TEXT NOT NULL,
	lease_until BIGINT NOT NULL,
	delivered_at BIGINT NOT NULL,
	PRIMARY KEY (envelope_id, seq)
);
CREATE INDEX edoc_status_outbox_due ON edoc_status_outbox (delivered_at, next_at);
