-- Personal-data rights (internal/privacy): corrections a person asks of
-- the agency that holds a record, and the data breaches the operator
-- records with the notification they require (Decree 13/2023/NĐ-CP, Law
-- on Personal Data Protection 2025). Nothing here is in the audit log but
-- identifiers: deleting a person's data never breaks the chain.

-- A correction request: which record (as the person's export names it),
-- what is wrong and what it should be, routed to the agency holding the
-- record, and that agency's answer.
CREATE TABLE privacy_corrections (
	id TEXT PRIMARY KEY,
	account_id TEXT NOT NULL,          -- who asked
	citizen_id TEXT NOT NULL,          -- whose record (the asker or their dependant)
	unit_code TEXT NOT NULL DEFAULT '',
	section TEXT NOT NULL,
	record_kind TEXT NOT NULL,
	record_id TEXT NOT NULL DEFAULT '',
	agency_code TEXT NOT NULL,
	wrong TEXT NOT NULL,
	correct TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('open', 'done', 'refused')),
	answer TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	decided_at BIGINT NOT NULL DEFAULT 0,
	decided_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX privacy_corrections_agency ON privacy_corrections (agency_code, status, created_at, id);
CREATE INDEX privacy_corrections_account ON privacy_corrections (account_id, created_at);

-- A personal-data breach as recorded by the operator, with the
-- notification text made from it and when the authority was told.
CREATE TABLE privacy_breaches (
	id TEXT PRIMARY KEY,
	recorded_at BIGINT NOT NULL,
	detected_at BIGINT NOT NULL,
	occurred_at BIGINT NOT NULL DEFAULT 0,
	description TEXT NOT NULL,
	categories TEXT NOT NULL,
	subjects TEXT NOT NULL,
	subjects_count BIGINT NOT NULL DEFAULT 0,
	consequences TEXT NOT NULL DEFAULT '',
	measures TEXT NOT NULL DEFAULT '',
	contact TEXT NOT NULL,
	notification TEXT NOT NULL,
	notified_at BIGINT NOT NULL DEFAULT 0,
	recorded_by TEXT NOT NULL
);
CREATE INDEX privacy_breaches_detected ON privacy_breaches (detected_at);
