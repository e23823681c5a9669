-- Headcounts of the population registry kept as the persons change (see
-- the SQLite migration of the same name).

CREATE TABLE person_year_cells (
	unit_code TEXT NOT NULL,
	birth_year INTEGER NOT NULL,
	living BIGINT NOT NULL,
	PRIMARY KEY (unit_code, birth_year)
);

INSERT INTO person_year_cells (unit_code, birth_year, living)
	SELECT unit_code, CAST(substr(birth_date, 1, 4) AS INTEGER), COUNT(*) FROM persons WHERE died_on = '' GROUP BY 1, 2;

DROP INDEX IF EXISTS persons_unit;
CREATE INDEX persons_unit ON persons (unit_code, birth_date, died_on);
CREATE INDEX persons_died ON persons (died_on) WHERE died_on <> '';

CREATE FUNCTION persons_cells() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.died_on = '' THEN
		UPDATE person_year_cells SET living = living - 1
			WHERE unit_code = OLD.unit_code AND birth_year = CAST(substr(OLD.birth_date, 1, 4) AS INTEGER);
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.died_on = '' THEN
		INSERT INTO person_year_cells (unit_code, birth_year, living) VALUES (NEW.unit_code, CAST(substr(NEW.birth_date, 1, 4) AS INTEGER), 1)
			ON CONFLICT (unit_code, birth_year) DO UPDATE SET living = person_year_cells.living + 1;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER persons_cells AFTER INSERT OR DELETE OR UPDATE OF unit_code, birth_date, died_on ON persons
	FOR EACH ROW EXECUTE FUNCTION persons_cells();
