-- A "newer release" for the rolling-upgrade test (internal/app,
-- TestRollingUpgrade): built with -tags upgradetest, civitas has this one
-- migration more, which only expands the schema, as the next release's
-- migrations must while the previous release still serves beside it.
CREATE TABLE upgrade_probe (
	id TEXT PRIMARY KEY,
	at BIGINT NOT NULL
);
ALTER TABLE persons ADD COLUMN upgrade_note TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN upgrade_note TEXT NOT NULL DEFAULT '';
ALTER TABLE oidc_clients ADD COLUMN upgrade_note TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN upgrade_note TEXT NOT NULL DEFAULT '';
