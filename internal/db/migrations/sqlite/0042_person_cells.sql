-- Headcounts of the population registry kept as the persons change, so
-- that the adoption dashboards read the population and the adults of every
-- commune on a day without counting millions of persons (3.1 s a read at
-- 3,000,000 persons). person_year_cells holds the living persons (died_on
-- = '') per unit and year of birth; the triggers keep it whatever writes
-- persons (the registry, an import, an earlier release beside this one
-- during an upgrade). The year a day falls in, and the year its adults
-- were born in, are counted exactly from persons_unit (now with the birth
-- date and death beside the unit, as wide as the index was needed anyway); persons who died
-- after a day come from persons_died (registry/population.go).

CREATE TABLE person_year_cells (
	unit_code TEXT NOT NULL,
	birth_year INTEGER NOT NULL,
	living BIGINT NOT NULL,
	PRIMARY KEY (unit_code, birth_year)
) WITHOUT ROWID;

INSERT INTO person_year_cells (unit_code, birth_year, living)
	SELECT unit_code, CAST(substr(birth_date, 1, 4) AS INTEGER), COUNT(*) FROM persons WHERE died_on = '' GROUP BY 1, 2;

DROP INDEX IF EXISTS persons_unit;
CREATE INDEX persons_unit ON persons (unit_code, birth_date, died_on);
CREATE INDEX persons_died ON persons (died_on) WHERE died_on <> '';

CREATE TRIGGER persons_cells_insert AFTER INSERT ON persons WHEN NEW.died_on = '' BEGIN
	INSERT INTO person_year_cells (unit_code, birth_year, living) VALUES (NEW.unit_code, CAST(substr(NEW.birth_date, 1, 4) AS INTEGER), 1)
		ON CONFLICT (unit_code, birth_year) DO UPDATE SET living = living + 1;
END;

CREATE TRIGGER persons_cells_delete AFTER DELETE ON persons WHEN OLD.died_on = '' BEGIN
	UPDATE person_year_cells SET living = living - 1
		WHERE unit_code = OLD.unit_code AND birth_year = CAST(substr(OLD.birth_date, 1, 4) AS INTEGER);
END;

CREATE TRIGGER persons_cells_update AFTER UPDATE OF unit_code, birth_date, died_on ON persons BEGIN
	UPDATE person_year_cells SET living = living - 1
		WHERE OLD.died_on = '' AND unit_code = OLD.unit_code AND birth_year = CAST(substr(OLD.birth_date, 1, 4) AS INTEGER);
	INSERT INTO person_year_cells (unit_code, birth_year, living)
		SELECT NEW.unit_code, CAST(substr(NEW.birth_date, 1, 4) AS INTEGER), 1 WHERE NEW.died_on = ''
		ON CONFLICT (unit_code, birth_year) DO UPDATE SET living = living + 1;
END;
