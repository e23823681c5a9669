-- More of the business registry (enterprise type, address, main activity,
-- status, registering agency; household businesses), the health-insurance
-- participation type of each card, and the schools: their level, classes
-- per school year, pupils and their guardians. internal/registry.

ALTER TABLE businesses ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE businesses ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE businesses ADD COLUMN activity TEXT NOT NULL DEFAULT '';
ALTER TABLE businesses ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE businesses ADD COLUMN agency_code TEXT NOT NULL DEFAULT '';

CREATE TABLE household_businesses (
	reg_number TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	owner_citizen_id TEXT NOT NULL REFERENCES persons (citizen_id),
	unit_code TEXT NOT NULL REFERENCES units (code),
	address TEXT NOT NULL,
	activity TEXT NOT NULL,
	registered_on TEXT NOT NULL,
	agency_code TEXT NOT NULL REFERENCES agencies (code),
	status TEXT NOT NULL DEFAULT 'active'
) WITHOUT ROWID;
CREATE INDEX household_businesses_owner ON household_businesses (owner_citizen_id);

CREATE TABLE insurance_participations (
	card_number TEXT PRIMARY KEY REFERENCES insurance_cards (card_number),
	kind TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE schools (
	code TEXT PRIMARY KEY REFERENCES agencies (code),
	level TEXT NOT NULL CHECK (level IN ('primary', 'lower_secondary', 'upper_secondary')),
	unit_code TEXT NOT NULL REFERENCES units (code),
	lat DOUBLE PRECISION NOT NULL,
	lon DOUBLE PRECISION NOT NULL
) WITHOUT ROWID;
CREATE INDEX schools_unit ON schools (unit_code);

-- id is the school code, the school year and the class name:
-- X31001.TH/2025-2026/3A.
CREATE TABLE school_classes (
	id TEXT PRIMARY KEY,
	school_code TEXT NOT NULL REFERENCES schools (code),
	school_year TEXT NOT NULL,
	grade INTEGER NOT NULL CHECK (grade BETWEEN 1 AND 12),
	name TEXT NOT NULL,
	teacher_citizen_id TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX school_classes_school ON school_classes (school_code, school_year);

-- school_pupils and school_guardians are rowid tables with a unique index
-- on their key, as residences (0028a).
CREATE TABLE school_pupils (
	school_year TEXT NOT NULL,
	citizen_id TEXT NOT NULL REFERENCES persons (citizen_id),
	class_id TEXT NOT NULL REFERENCES school_classes (id)
);
CREATE UNIQUE INDEX school_pupils_key ON school_pupils (school_year, citizen_id);
CREATE INDEX school_pupils_class ON school_pupils (class_id);

CREATE TABLE school_guardians (
	citizen_id TEXT NOT NULL REFERENCES persons (citizen_id),
	guardian_citizen_id TEXT NOT NULL REFERENCES persons (citizen_id),
	relation TEXT NOT NULL
);
CREATE UNIQUE INDEX school_guardians_key ON school_guardians (citizen_id, guardian_citizen_id);
CREATE INDEX school_guardians_guardian ON school_guardians (guardian_citizen_id);
