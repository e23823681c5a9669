-- Queries of other capabilities about a holder's documents (internal/wallet,
-- query.go): "does this person hold a valid document of type T, and what
-- does it say". Each is kept for the holder's history: who asked, why, and
-- what they were told (yes or no, and the names of the claims given, never
-- their values).
CREATE TABLE wallet_queries (
	id TEXT PRIMARY KEY,
	holder_kind TEXT NOT NULL,
	holder_id TEXT NOT NULL,
	type TEXT NOT NULL,
	purpose TEXT NOT NULL,
	requester_kind TEXT NOT NULL,
	requester_id TEXT NOT NULL,
	requester_agency TEXT NOT NULL DEFAULT '',
	answer TEXT NOT NULL CHECK (answer IN ('yes', 'no')),
	claims TEXT NOT NULL DEFAULT '',
	document_id TEXT NOT NULL DEFAULT '',
	asked_at BIGINT NOT NULL
);
CREATE INDEX wallet_queries_holder ON wallet_queries (holder_kind, holder_id, asked_at);
