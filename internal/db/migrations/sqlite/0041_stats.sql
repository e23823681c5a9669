-- Adoption campaigns (internal/stats): a period over a unit and what lies
-- below it, targets per indicator (a share of the adults or a count),
-- registration support points, mobile-team visits per residential area,
-- and the outcome of a visit to a resident on a worklist. The figures
-- themselves are the tallies (0027); only outcomes name a person.

CREATE TABLE stats_campaigns (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	unit_code TEXT NOT NULL,
	starts_on TEXT NOT NULL,
	ends_on TEXT NOT NULL,
	created_at BIGINT NOT NULL
) WITHOUT ROWID;
CREATE INDEX stats_campaigns_unit ON stats_campaigns (unit_code, ends_on);

CREATE TABLE stats_campaign_targets (
	campaign_id TEXT NOT NULL REFERENCES stats_campaigns (id),
	indicator TEXT NOT NULL,
	percent_of_adults DOUBLE PRECISION NOT NULL DEFAULT 0,
	target_count BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (campaign_id, indicator)
) WITHOUT ROWID;

CREATE TABLE stats_support_points (
	id TEXT PRIMARY KEY,
	campaign_id TEXT NOT NULL REFERENCES stats_campaigns (id),
	unit_code TEXT NOT NULL,
	place TEXT NOT NULL,
	hours TEXT NOT NULL,
	staff TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX stats_support_points_campaign ON stats_support_points (campaign_id, unit_code);

CREATE TABLE stats_visits (
	id TEXT PRIMARY KEY,
	campaign_id TEXT NOT NULL REFERENCES stats_campaigns (id),
	unit_code TEXT NOT NULL,
	area_code TEXT NOT NULL,
	area_name TEXT NOT NULL,
	day TEXT NOT NULL,
	team TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX stats_visits_campaign ON stats_visits (campaign_id, day);

-- What a team found at a resident's door: done, not_home, moved, deceased
-- (the last two are for the registry's agency to act on).
CREATE TABLE stats_visit_outcomes (
	citizen_id TEXT NOT NULL,
	unit_code TEXT NOT NULL,
	outcome TEXT NOT NULL CHECK (outcome IN ('done', 'not_home', 'moved', 'deceased')),
	noted_by TEXT NOT NULL,
	noted_at BIGINT NOT NULL,
	PRIMARY KEY (citizen_id)
) WITHOUT ROWID;
CREATE INDEX stats_visit_outcomes_unit ON stats_visit_outcomes (unit_code, outcome);
