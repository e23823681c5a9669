-- Failed guesses at secrets (passwords, one-time codes, approval PINs), per
-- key, so that limits hold across every civitas instance.
CREATE TABLE auth_throttle (
	key TEXT PRIMARY KEY,
	failures INTEGER NOT NULL,
	first_failure_at BIGINT NOT NULL,
	locked_until BIGINT NOT NULL
);
CREATE INDEX auth_throttle_first_failure ON auth_throttle (first_failure_at);
