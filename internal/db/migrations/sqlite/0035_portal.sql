-- The public-service portal (internal/portal): applications, the parts each
-- agency handles, what the registries answered for them (as received),
-- uploads, the history the applicant sees, flags of registry errors, the
-- processing time of each finished application, and the numbering of
-- receipts and results per agency and year.
CREATE TABLE portal_applications (
	id TEXT PRIMARY KEY,
	procedure TEXT NOT NULL,
	applicant_account TEXT NOT NULL,
	applicant_citizen TEXT NOT NULL,
	subject_kind TEXT NOT NULL,
	subject_id TEXT NOT NULL,
	subject_name TEXT NOT NULL DEFAULT '',
	beneficiary TEXT NOT NULL DEFAULT '',
	channel TEXT NOT NULL,
	assisted_by TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL,
	unit_code TEXT NOT NULL,
	agency TEXT NOT NULL,
	delivery TEXT NOT NULL DEFAULT 'wallet',
	delivery_address TEXT NOT NULL DEFAULT '',
	fee BIGINT NOT NULL DEFAULT 0,
	fee_exempt TEXT NOT NULL DEFAULT '',
	payment_state TEXT NOT NULL DEFAULT 'none',
	payment_ref TEXT NOT NULL DEFAULT '',
	data TEXT NOT NULL DEFAULT '{}',
	declaration TEXT NOT NULL DEFAULT '',
	receipt_number TEXT NOT NULL DEFAULT '',
	paperless INTEGER NOT NULL DEFAULT 1,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	submitted_at BIGINT NOT NULL DEFAULT 0,
	finished_at BIGINT NOT NULL DEFAULT 0,
	due_date TEXT NOT NULL DEFAULT '',
	paused_on TEXT NOT NULL DEFAULT '',
	apologised INTEGER NOT NULL DEFAULT 0,
	overdue INTEGER NOT NULL DEFAULT 0,
	requested TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL DEFAULT '',
	version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX portal_applications_applicant ON portal_applications (applicant_account, created_at, id);
CREATE INDEX portal_applications_subject ON portal_applications (subject_id, created_at, id);
CREATE INDEX portal_applications_due ON portal_applications (due_date, status);

CREATE TABLE portal_parts (
	application_id TEXT NOT NULL REFERENCES portal_applications (id),
	part TEXT NOT NULL,
	idx INTEGER NOT NULL,
	agency TEXT NOT NULL,
	unit_code TEXT NOT NULL,
	status TEXT NOT NULL,
	queue INTEGER NOT NULL DEFAULT 0,
	due_date TEXT NOT NULL DEFAULT '',
	assignee TEXT NOT NULL DEFAULT '',
	decided_by TEXT NOT NULL DEFAULT '',
	decided_at BIGINT NOT NULL DEFAULT 0,
	decision TEXT NOT NULL DEFAULT '{}',
	outputs TEXT NOT NULL DEFAULT '{}',
	reason TEXT NOT NULL DEFAULT '',
	document_id TEXT NOT NULL DEFAULT '',
	document_type TEXT NOT NULL DEFAULT '',
	holder_kind TEXT NOT NULL DEFAULT '',
	holder_id TEXT NOT NULL DEFAULT '',
	result_pdf BLOB,
	PRIMARY KEY (application_id, part)
);
CREATE INDEX portal_parts_queue ON portal_parts (agency, queue, due_date, application_id);
CREATE INDEX portal_parts_queue_unit ON portal_parts (agency, unit_code, queue, due_date, application_id);
CREATE INDEX portal_parts_done ON portal_parts (agency, queue, decided_at, application_id);

CREATE TABLE portal_sources (
	application_id TEXT NOT NULL REFERENCES portal_applications (id),
	party TEXT NOT NULL,
	source TEXT NOT NULL,
	subject_id TEXT NOT NULL,
	provider TEXT NOT NULL DEFAULT '',
	provider_name TEXT NOT NULL DEFAULT '',
	receipt TEXT NOT NULL DEFAULT '',
	records TEXT NOT NULL,
	error TEXT NOT NULL DEFAULT '',
	read_at BIGINT NOT NULL,
	PRIMARY KEY (application_id, party, source)
);

CREATE TABLE portal_uploads (
	application_id TEXT NOT NULL REFERENCES portal_applications (id),
	id TEXT NOT NULL,
	input TEXT NOT NULL,
	name TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size BIGINT NOT NULL,
	sha256 TEXT NOT NULL,
	content BLOB NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (application_id, id)
);

CREATE TABLE portal_events (
	application_id TEXT NOT NULL REFERENCES portal_applications (id),
	seq INTEGER NOT NULL,
	at BIGINT NOT NULL,
	actor_kind TEXT NOT NULL,
	actor_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	part TEXT NOT NULL DEFAULT '',
	details TEXT NOT NULL DEFAULT '{}',
	PRIMARY KEY (application_id, seq)
);

CREATE TABLE portal_flags (
	id TEXT PRIMARY KEY,
	application_id TEXT NOT NULL REFERENCES portal_applications (id),
	source TEXT NOT NULL,
	field TEXT NOT NULL,
	provider TEXT NOT NULL,
	note TEXT NOT NULL,
	status TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX portal_flags_provider ON portal_flags (provider, status, created_at, id);

CREATE TABLE portal_outcomes (
	application_id TEXT PRIMARY KEY REFERENCES portal_applications (id),
	unit_code TEXT NOT NULL,
	procedure TEXT NOT NULL,
	channel TEXT NOT NULL,
	paperless INTEGER NOT NULL,
	outcome TEXT NOT NULL,
	submitted_day TEXT NOT NULL,
	finished_day TEXT NOT NULL,
	working_days INTEGER NOT NULL,
	on_time INTEGER NOT NULL
);
CREATE INDEX portal_outcomes_day ON portal_outcomes (finished_day, unit_code);

CREATE TABLE portal_numbers (
	series TEXT NOT NULL,
	year INTEGER NOT NULL,
	last BIGINT NOT NULL,
	PRIMARY KEY (series, year)
);
