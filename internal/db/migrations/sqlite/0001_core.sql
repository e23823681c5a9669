-- Core schema: leases for background jobs, the audit log, web sessions,
-- and the registries (administrative units, households, persons, agencies, officials).
-- Every timestamp is BIGINT Unix microseconds.

CREATE TABLE leases (
	name TEXT PRIMARY KEY,
	holder TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);

CREATE TABLE audit_head (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	seq BIGINT NOT NULL,
	hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

CREATE TABLE audit_log (
	seq BIGINT PRIMARY KEY,
	at BIGINT NOT NULL,
	actor_kind TEXT NOT NULL,
	actor_id TEXT NOT NULL,
	on_behalf_of TEXT NOT NULL,
	action TEXT NOT NULL,
	subject_type TEXT NOT NULL,
	subject_id TEXT NOT NULL,
	purpose TEXT NOT NULL,
	details TEXT NOT NULL,
	request_id TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (subject_type, subject_id, seq);
CREATE INDEX audit_log_on_behalf_of ON audit_log (on_behalf_of, seq);

CREATE TABLE web_sessions (
	id_hash TEXT PRIMARY KEY,
	account_id TEXT NOT NULL DEFAULT '',
	csrf_token TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

CREATE TABLE units (
	code TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	level TEXT NOT NULL CHECK (level IN ('province', 'district', 'commune')),
	parent_code TEXT REFERENCES units (code)
) WITHOUT ROWID;
CREATE INDEX units_parent ON units (parent_code);

CREATE TABLE households (
	id TEXT PRIMARY KEY,
	unit_code TEXT NOT NULL REFERENCES units (code),
	address TEXT NOT NULL
) WITHOUT ROWID;

-- persons is a rowid table with a separate unique index on citizen_id, so a
-- bulk load appends rows and builds the index once by sorting instead of
-- rewriting B-tree pages all over the key space at every commit.
CREATE TABLE persons (
	id INTEGER PRIMARY KEY,
	citizen_id TEXT NOT NULL,
	full_name TEXT NOT NULL,
	birth_date TEXT NOT NULL,
	sex TEXT NOT NULL CHECK (sex IN ('M', 'F')),
	household_id TEXT NOT NULL REFERENCES households (id),
	unit_code TEXT NOT NULL REFERENCES units (code),
	phone TEXT NOT NULL DEFAULT '',
	updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX persons_citizen ON persons (citizen_id);
CREATE INDEX persons_household ON persons (household_id);
CREATE INDEX persons_unit ON persons (unit_code);

CREATE TABLE agencies (
	code TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	kind TEXT NOT NULL,
	unit_code TEXT NOT NULL REFERENCES units (code)
) WITHOUT ROWID;
CREATE INDEX agencies_unit ON agencies (unit_code);

CREATE TABLE officials (
	id TEXT PRIMARY KEY,
	citizen_id TEXT NOT NULL REFERENCES persons (citizen_id),
	agency_code TEXT NOT NULL REFERENCES agencies (code),
	role TEXT NOT NULL,
	UNIQUE (citizen_id, agency_code, role)
) WITHOUT ROWID;
CREATE INDEX officials_agency ON officials (agency_code);
