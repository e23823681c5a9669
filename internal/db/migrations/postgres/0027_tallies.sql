-- Figures per indicator, administrative unit and day (internal/tally): the
-- sum of the deltas capabilities added in the transactions that made the
-- changes. No personal data.
CREATE TABLE tallies (
	name TEXT NOT NULL,
	unit TEXT NOT NULL,
	day TEXT NOT NULL,
	value BIGINT NOT NULL,
	PRIMARY KEY (name, unit, day)
);
CREATE INDEX tallies_by_day ON tallies (day, name);
