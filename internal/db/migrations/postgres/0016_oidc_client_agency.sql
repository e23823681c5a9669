-- Clients that act for themselves (internal/oidc): the agency a client is
-- bound to, and the scopes it may get for its own account with the
-- client_credentials grant (space-separated; '' for none).
ALTER TABLE oidc_clients ADD COLUMN agency TEXT NOT NULL DEFAULT '';
ALTER TABLE oidc_clients ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
