-- The civil-status registry (births, deaths, marriages, each numbered in
-- the registering agency's book of the year) and the land registry
-- (parcels, their owners, land-use right certificates). internal/registry.

CREATE TABLE births (
	citizen_id TEXT PRIMARY KEY,
	full_name TEXT NOT NULL,
	birth_date TEXT NOT NULL,
	sex TEXT NOT NULL CHECK (sex IN ('M', 'F')),
	place_of_birth TEXT NOT NULL,
	mother_citizen_id TEXT NOT NULL DEFAULT '',
	mother_name TEXT NOT NULL DEFAULT '',
	father_citizen_id TEXT NOT NULL DEFAULT '',
	father_name TEXT NOT NULL DEFAULT '',
	registration_number TEXT NOT NULL,
	registered_on TEXT NOT NULL,
	agency_code TEXT NOT NULL REFERENCES agencies (code),
	UNIQUE (agency_code, registration_number)
);
CREATE INDEX births_mother ON births (mother_citizen_id) WHERE mother_citizen_id <> '';
CREATE INDEX births_father ON births (father_citizen_id) WHERE father_citizen_id <> '';

CREATE TABLE deaths (
	citizen_id TEXT PRIMARY KEY,
	full_name TEXT NOT NULL,
	birth_date TEXT NOT NULL,
	sex TEXT NOT NULL CHECK (sex IN ('M', 'F')),
	died_on TEXT NOT NULL,
	place_of_death TEXT NOT NULL,
	registration_number TEXT NOT NULL,
	registered_on TEXT NOT NULL,
	agency_code TEXT NOT NULL REFERENCES agencies (code),
	UNIQUE (agency_code, registration_number)
);

CREATE TABLE marriages (
	id TEXT PRIMARY KEY,
	husband_citizen_id TEXT NOT NULL,
	husband_name TEXT NOT NULL,
	wife_citizen_id TEXT NOT NULL,
	wife_name TEXT NOT NULL,
	married_on TEXT NOT NULL,
	registration_number TEXT NOT NULL,
	agency_code TEXT NOT NULL REFERENCES agencies (code),
	ended_on TEXT NOT NULL DEFAULT '',
	end_reason TEXT NOT NULL DEFAULT '' CHECK (end_reason IN ('', 'death', 'divorce')),
	UNIQUE (agency_code, registration_number)
);
CREATE INDEX marriages_husband ON marriages (husband_citizen_id);
CREATE INDEX marriages_wife ON marriages (wife_citizen_id);

-- id is the commune code, the map sheet and the parcel number:
-- 31001-012-0345.
CREATE TABLE land_parcels (
	id TEXT PRIMARY KEY,
	unit_code TEXT NOT NULL REFERENCES units (code),
	map_sheet INTEGER NOT NULL,
	parcel_number INTEGER NOT NULL,
	area_m2 DOUBLE PRECISION NOT NULL,
	land_use TEXT NOT NULL,
	address TEXT NOT NULL,
	UNIQUE (unit_code, map_sheet, parcel_number)
);

-- owner_kind says whether owner_id is a citizen ID or an enterprise code.
CREATE TABLE land_owners (
	parcel_id TEXT NOT NULL REFERENCES land_parcels (id),
	owner_kind TEXT NOT NULL CHECK (owner_kind IN ('person', 'business')),
	owner_id TEXT NOT NULL,
	PRIMARY KEY (parcel_id, owner_kind, owner_id)
);
CREATE INDEX land_owners_owner ON land_owners (owner_id);

CREATE TABLE land_certificates (
	number TEXT PRIMARY KEY,
	parcel_id TEXT NOT NULL REFERENCES land_parcels (id),
	issued_on TEXT NOT NULL,
	agency_code TEXT NOT NULL REFERENCES agencies (code),
	cancelled_on TEXT NOT NULL DEFAULT ''
);
CREATE INDEX land_certificates_parcel ON land_certificates (parcel_id);
