-- Payments of fees (internal/portal/payment): orders for an application's
-- fee, the gateway's callbacks (their transaction numbers make replays
-- change nothing), sealed receipts, the bank statements imported and the
-- reconciliation runs with what did not match.

CREATE TABLE payment_orders (
	id TEXT PRIMARY KEY,
	reference TEXT NOT NULL UNIQUE,   -- in the transfer's purpose and on statements
	application_id TEXT NOT NULL,
	procedure_code TEXT NOT NULL,
	agency TEXT NOT NULL,
	unit TEXT NOT NULL,
	amount BIGINT NOT NULL,           -- VND
	description TEXT NOT NULL,
	payer_citizen TEXT NOT NULL,
	payer_account TEXT NOT NULL,
	return_url TEXT NOT NULL,
	status TEXT NOT NULL,             -- pending, paid, failed, expired, refunding, refunded
	method TEXT NOT NULL,             -- gateway or transfer, once paid
	provider TEXT NOT NULL,
	provider_txn TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	paid_at BIGINT NOT NULL,
	closed_at BIGINT NOT NULL,
	refund_reason TEXT NOT NULL
);
CREATE INDEX payment_orders_application ON payment_orders (application_id, created_at);
CREATE INDEX payment_orders_status ON payment_orders (status, expires_at);
CREATE INDEX payment_orders_paid ON payment_orders (paid_at);

CREATE TABLE payment_callbacks (
	provider TEXT NOT NULL,
	txn_id TEXT NOT NULL,
	order_id TEXT NOT NULL,
	amount BIGINT NOT NULL,
	success INTEGER NOT NULL,
	outcome TEXT NOT NULL,            -- paid, failed, or late (the order was settled before)
	received_at BIGINT NOT NULL,
	PRIMARY KEY (provider, txn_id)
);
CREATE INDEX payment_callbacks_order ON payment_callbacks (order_id);

-- A receipt, made on first download and kept: sealed under the
-- key-encryption key, since it names the payer.
CREATE TABLE payment_receipts (
	order_id TEXT PRIMARY KEY,
	sealed TEXT NOT NULL,
	created_at BIGINT NOT NULL
);

-- A statement imported once (its SHA-256), its lines kept.
CREATE TABLE payment_statements (
	id TEXT PRIMARY KEY,
	sha256 TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	agency TEXT NOT NULL,             -- whose account, or '' for the default
	lines INTEGER NOT NULL,
	imported_at BIGINT NOT NULL
);

CREATE TABLE payment_settlements (
	statement_id TEXT NOT NULL,
	line INTEGER NOT NULL,            -- in the file, the header being line 1
	day TEXT NOT NULL,                -- value date, YYYY-MM-DD
	reference TEXT NOT NULL,          -- an order's reference found on the line, or ''
	amount BIGINT NOT NULL,           -- VND; negative for money going out (refunds)
	bank_txn TEXT NOT NULL,
	description TEXT NOT NULL,
	PRIMARY KEY (statement_id, line)
);
CREATE INDEX payment_settlements_day ON payment_settlements (day);
CREATE INDEX payment_settlements_reference ON payment_settlements (reference);

CREATE TABLE payment_runs (
	id TEXT PRIMARY KEY,              -- ordered by time
	day TEXT NOT NULL,
	run_at BIGINT NOT NULL,
	matched INTEGER NOT NULL,
	mismatches INTEGER NOT NULL
);
CREATE INDEX payment_runs_day ON payment_runs (day, run_at);

CREATE TABLE payment_run_items (
	run_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	kind TEXT NOT NULL,               -- missing, unknown, amount, duplicate, late
	agency TEXT NOT NULL,
	reference TEXT NOT NULL,
	order_id TEXT NOT NULL,
	application_id TEXT NOT NULL,
	expected BIGINT NOT NULL,
	got BIGINT NOT NULL,
	statement_id TEXT NOT NULL,
	line INTEGER NOT NULL,
	bank_txn TEXT NOT NULL,
	PRIMARY KEY (run_id, seq)
);
