-- Notifications (internal/notify): each citizen's web inbox, the channels
-- they chose, and the outbox of notices waiting for a text or an e-mail.
-- One-time codes are never stored here. The demo outbox of texts is
-- sms_outbox (0003).

-- A message in an account's inbox: a catalogue template and its arguments
-- (JSON array of strings), rendered in the reader's language when read, or
-- a text its sender wrote whole. IDs are time-ordered.
CREATE TABLE notify_inbox (
	id TEXT PRIMARY KEY,
	account_id TEXT NOT NULL,
	template TEXT NOT NULL DEFAULT '',
	args TEXT NOT NULL DEFAULT '',
	body TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	read_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX notify_inbox_account ON notify_inbox (account_id, id);
CREATE INDEX notify_inbox_created ON notify_inbox (created_at);

-- What an account chose; no row: SMS when it has a phone, no e-mail.
CREATE TABLE notify_channels (
	account_id TEXT PRIMARY KEY,
	sms INTEGER NOT NULL,
	email INTEGER NOT NULL,
	email_address TEXT NOT NULL DEFAULT '',
	lang TEXT NOT NULL DEFAULT '',
	updated_at BIGINT NOT NULL
);

-- A notice waiting for one channel. A finished row forgets its address and
-- text and is deleted after a week.
CREATE TABLE notify_outbox (
	id TEXT PRIMARY KEY,
	account_id TEXT NOT NULL DEFAULT '',
	channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
	address TEXT NOT NULL,
	template TEXT NOT NULL,
	subject TEXT NOT NULL DEFAULT '',
	body TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
	attempts INTEGER NOT NULL DEFAULT 0,
	next_at BIGINT NOT NULL,
	locked_until BIGINT NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	done_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX notify_outbox_due ON notify_outbox (next_at) WHERE state = 'pending';
CREATE INDEX notify_outbox_done ON notify_outbox (done_at) WHERE state <> 'pending';
