-- e-ID accounts (internal/identity), the business registry organisations are
-- matched against, and what a login session remembers about how it was made.

ALTER TABLE web_sessions ADD COLUMN acr TEXT NOT NULL DEFAULT '';
ALTER TABLE web_sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE web_sessions ADD COLUMN auth_time BIGINT NOT NULL DEFAULT 0;
ALTER TABLE web_sessions ADD COLUMN acting_for TEXT NOT NULL DEFAULT '';
ALTER TABLE web_sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
CREATE INDEX web_sessions_account ON web_sessions (account_id);

-- The business registry: enterprise code, name, legal representative.
CREATE TABLE businesses (
	reg_number TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	legal_rep_citizen_id TEXT NOT NULL REFERENCES persons (citizen_id),
	unit_code TEXT NOT NULL REFERENCES units (code),
	registered_on TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX businesses_rep ON businesses (legal_rep_citizen_id);

-- One account per citizen. level is what has been proven (1 online, 2 in
-- person); status 'pending' waits for activation with a code.
CREATE TABLE accounts (
	id TEXT PRIMARY KEY,
	citizen_id TEXT NOT NULL UNIQUE,
	unit_code TEXT NOT NULL,
	level INTEGER NOT NULL CHECK (level IN (1, 2)),
	status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'disabled')),
	password_hash TEXT NOT NULL DEFAULT '',
	totp_sealed TEXT NOT NULL DEFAULT '',
	totp_last_step BIGINT NOT NULL DEFAULT 0,
	phone TEXT NOT NULL DEFAULT '',
	contact TEXT NOT NULL DEFAULT 'own',
	created_at BIGINT NOT NULL,
	activated_at BIGINT NOT NULL DEFAULT 0,
	updated_at BIGINT NOT NULL
) WITHOUT ROWID;
CREATE INDEX accounts_unit ON accounts (unit_code, level, status);

-- Short-lived flows protected by a one-time code: online registration,
-- activation of an in-person enrolment. Only hashes are kept.
CREATE TABLE account_codes (
	id_hash TEXT PRIMARY KEY,
	purpose TEXT NOT NULL,
	citizen_id TEXT NOT NULL,
	account_id TEXT NOT NULL DEFAULT '',
	phone TEXT NOT NULL DEFAULT '',
	matched INTEGER NOT NULL DEFAULT 0,
	code_hash TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
) WITHOUT ROWID;
CREATE INDEX account_codes_expires ON account_codes (expires_at);
CREATE INDEX account_codes_account ON account_codes (account_id, purpose);

CREATE TABLE recovery_codes (
	account_id TEXT NOT NULL REFERENCES accounts (id),
	code_hash TEXT NOT NULL,
	used_at BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (account_id, code_hash)
) WITHOUT ROWID;

CREATE TABLE passkeys (
	id TEXT PRIMARY KEY,
	account_id TEXT NOT NULL REFERENCES accounts (id),
	name TEXT NOT NULL,
	credential TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	last_used_at BIGINT NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX passkeys_account ON passkeys (account_id);

-- In-person verifications at a registration point: who checked what, where.
-- issued vs activated per commune feeds the adoption dashboards.
CREATE TABLE enrolments (
	id TEXT PRIMARY KEY,
	account_id TEXT NOT NULL REFERENCES accounts (id),
	unit_code TEXT NOT NULL,
	agency_code TEXT NOT NULL,
	officer_account_id TEXT NOT NULL,
	checks TEXT NOT NULL,
	contact TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	activated_at BIGINT NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX enrolments_unit ON enrolments (unit_code, created_at);
CREATE INDEX enrolments_account ON enrolments (account_id);

-- A child under 14 is a dependent of a guardian's account.
CREATE TABLE guardianships (
	guardian_account_id TEXT NOT NULL REFERENCES accounts (id),
	dependent_citizen_id TEXT NOT NULL,
	relation TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (guardian_account_id, dependent_citizen_id)
) WITHOUT ROWID;
CREATE INDEX guardianships_dependent ON guardianships (dependent_citizen_id);

CREATE TABLE organisations (
	id TEXT PRIMARY KEY,
	reg_number TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	created_at BIGINT NOT NULL
) WITHOUT ROWID;

CREATE TABLE org_members (
	org_id TEXT NOT NULL REFERENCES organisations (id),
	account_id TEXT NOT NULL REFERENCES accounts (id),
	role TEXT NOT NULL CHECK (role IN ('representative', 'member')),
	added_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (org_id, account_id)
) WITHOUT ROWID;
CREATE INDEX org_members_account ON org_members (account_id);

-- The citizen's usage history: logins, apps given data, consents, signatures.
-- Kept five years, then deleted by a job.
CREATE TABLE account_events (
	id TEXT PRIMARY KEY,
	account_id TEXT NOT NULL,
	at BIGINT NOT NULL,
	kind TEXT NOT NULL,
	client_id TEXT NOT NULL DEFAULT '',
	acting_for TEXT NOT NULL DEFAULT '',
	details TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX account_events_account ON account_events (account_id, at);
CREATE INDEX account_events_at ON account_events (at);

CREATE TABLE sms_outbox (
	id TEXT PRIMARY KEY,
	phone TEXT NOT NULL,
	body TEXT NOT NULL,
	created_at BIGINT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sms_outbox_created ON sms_outbox (created_at);
