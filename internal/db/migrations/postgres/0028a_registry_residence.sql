-- Reference data for the capabilities to come (internal/registry): which
-- agency owns each registry, the boundaries of the administrative units,
-- the residential areas (villages, urban groups) inside the communes, and
-- the residence registry (permanent and temporary residence, household
-- head and relations). Dates are TEXT YYYY-MM-DD; '' is "none" (an open
-- period, a person alive). Rows referring to persons carry no foreign key
-- to persons where the person may have died before the population
-- registry was kept (the demo's late spouses).

ALTER TABLE persons ADD COLUMN died_on TEXT NOT NULL DEFAULT '';

CREATE TABLE registry_catalogue (
	code TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	agency_code TEXT NOT NULL REFERENCES agencies (code)
);

-- Coordinates are WGS 84 degrees; the polygon is GeoJSON text, the box
-- around it the prefilter of point lookups.
CREATE TABLE unit_boundaries (
	unit_code TEXT PRIMARY KEY REFERENCES units (code),
	min_lat DOUBLE PRECISION NOT NULL,
	min_lon DOUBLE PRECISION NOT NULL,
	max_lat DOUBLE PRECISION NOT NULL,
	max_lon DOUBLE PRECISION NOT NULL,
	geojson TEXT NOT NULL
);

CREATE TABLE residential_areas (
	code TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('village', 'urban_group')),
	unit_code TEXT NOT NULL REFERENCES units (code),
	lat DOUBLE PRECISION NOT NULL,
	lon DOUBLE PRECISION NOT NULL,
	remote INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX residential_areas_unit ON residential_areas (unit_code);

-- id is the citizen ID, a hyphen and a two-digit sequence; the key leads
-- with the citizen ID, so a person's entries are together.
CREATE TABLE residences (
	citizen_id TEXT NOT NULL,
	id TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('permanent', 'temporary')),
	household_id TEXT NOT NULL DEFAULT '',
	relation TEXT NOT NULL DEFAULT '',
	address TEXT NOT NULL,
	area_code TEXT NOT NULL DEFAULT '',
	unit_code TEXT NOT NULL REFERENCES units (code),
	from_date TEXT NOT NULL,
	until_date TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (citizen_id, id)
);
-- The secondary indexes of the registries bulk-loaded (residences,
-- births, marriages, land, household businesses) are dropped while a bulk
-- load fills an empty registry and rebuilt after (internal/registry,
-- records.go): keep their definitions the same there.
CREATE INDEX residences_household ON residences (household_id);
-- The heads' current entries: the households of an area.
CREATE INDEX residences_area ON residences (area_code) WHERE relation = 'head' AND kind = 'permanent' AND until_date = '';
