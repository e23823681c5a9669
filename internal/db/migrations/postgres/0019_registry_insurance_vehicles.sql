-- Two more registries (internal/registry) the wallet fills documents from:
-- health insurance, one card per person, and road vehicles by number plate.
-- Dates are TEXT YYYY-MM-DD, as in the other registries. The citizen ID
-- indexes are dropped during a bulk load into an empty registry and rebuilt
-- after (internal/registry/bulk.go): keep their definitions the same there.

CREATE TABLE insurance_cards (
	card_number TEXT PRIMARY KEY,
	citizen_id TEXT NOT NULL REFERENCES persons (citizen_id),
	hospital TEXT NOT NULL,
	benefit_level TEXT NOT NULL DEFAULT '',
	valid_from TEXT NOT NULL,
	valid_to TEXT NOT NULL
);
CREATE UNIQUE INDEX insurance_cards_citizen ON insurance_cards (citizen_id);

CREATE TABLE vehicles (
	plate TEXT PRIMARY KEY,
	owner_citizen_id TEXT NOT NULL REFERENCES persons (citizen_id),
	make TEXT NOT NULL,
	model TEXT NOT NULL,
	colour TEXT NOT NULL DEFAULT '',
	registered_on TEXT NOT NULL,
	frame_number TEXT NOT NULL DEFAULT '',
	engine_number TEXT NOT NULL DEFAULT ''
);
CREATE INDEX vehicles_owner ON vehicles (owner_citizen_id);
