-- Digital literacy (internal/learning): courses loaded from their folders,
-- learners' enrolments, reading, quiz attempts and mastery, teachers'
-- assignments to classes, community classes and who was trained.

-- A course as last imported; its titles and summaries are JSON by language.
CREATE TABLE learning_courses (
	code TEXT PRIMARY KEY,
	titles TEXT NOT NULL,
	summaries TEXT NOT NULL,
	area TEXT NOT NULL,
	competence TEXT NOT NULL,
	level INTEGER NOT NULL,
	duration INTEGER NOT NULL,
	pass_mark INTEGER NOT NULL,
	final_attempts INTEGER NOT NULL,
	quiz_size INTEGER NOT NULL,
	final_size INTEGER NOT NULL,
	lessons INTEGER NOT NULL,
	questions INTEGER NOT NULL,
	hash TEXT NOT NULL,
	source TEXT NOT NULL,          -- builtin (shipped, upgraded at start) or import (an operator's)
	updated_at BIGINT NOT NULL
);

CREATE TABLE learning_lessons (
	course TEXT NOT NULL,
	slug TEXT NOT NULL,
	seq INTEGER NOT NULL,
	competence TEXT NOT NULL,
	duration INTEGER NOT NULL,
	titles TEXT NOT NULL,          -- JSON by language
	PRIMARY KEY (course, slug)
);

-- A lesson in one language: its HTML, rendered and made safe at import.
CREATE TABLE learning_lesson_texts (
	course TEXT NOT NULL,
	slug TEXT NOT NULL,
	lang TEXT NOT NULL,
	lang_name TEXT NOT NULL,
	title TEXT NOT NULL,
	body TEXT NOT NULL,
	PRIMARY KEY (course, slug, lang)
);

CREATE TABLE learning_images (
	course TEXT NOT NULL,
	name TEXT NOT NULL,
	content_type TEXT NOT NULL,
	data BYTEA NOT NULL,
	etag TEXT NOT NULL,
	PRIMARY KEY (course, name)
);

-- Questions by a hash of their content: a bank imported again keeps the
-- IDs of questions that did not change; those it no longer has are
-- retired, kept for the attempts that drew them.
CREATE TABLE learning_questions (
	course TEXT NOT NULL,
	id TEXT NOT NULL,
	bank TEXT NOT NULL,
	seq INTEGER NOT NULL,
	competence TEXT NOT NULL,
	retired INTEGER NOT NULL DEFAULT 0,
	data TEXT NOT NULL,
	PRIMARY KEY (course, id)
);
CREATE INDEX learning_questions_bank ON learning_questions (course, bank, retired);

-- A learner (by citizen ID) in a course, with the counters the progress
-- pages read: lessons read, final-test attempts used, best score (per
-- mille, -1 none), when passed, and the certificate in the wallet.
CREATE TABLE learning_enrolments (
	id TEXT PRIMARY KEY,
	course TEXT NOT NULL,
	learner TEXT NOT NULL,
	unit TEXT NOT NULL,            -- the learner's commune, for the figures
	school TEXT NOT NULL DEFAULT '',
	class TEXT NOT NULL DEFAULT '',
	enrolled_at BIGINT NOT NULL,
	lessons_read INTEGER NOT NULL DEFAULT 0,
	final_used INTEGER NOT NULL DEFAULT 0,
	best INTEGER NOT NULL DEFAULT -1,
	passed_at BIGINT NOT NULL DEFAULT 0,
	cert_state TEXT NOT NULL DEFAULT '',   -- '', pending, issued
	certificate TEXT NOT NULL DEFAULT '',  -- the wallet document
	cert_tries INTEGER NOT NULL DEFAULT 0,
	UNIQUE (course, learner)
);
CREATE INDEX learning_enrolments_learner ON learning_enrolments (learner);
CREATE INDEX learning_enrolments_school ON learning_enrolments (school, class, course, passed_at);
CREATE INDEX learning_enrolments_cert ON learning_enrolments (cert_state, passed_at);

CREATE TABLE learning_reads (
	enrolment TEXT NOT NULL,
	slug TEXT NOT NULL,
	read_at BIGINT NOT NULL,
	PRIMARY KEY (enrolment, slug)
);

-- A quiz attempt: the questions drawn (with what scores them, never sent
-- to the learner before submission) and the answers, whose results are
-- scored again from them when shown.
CREATE TABLE learning_attempts (
	id TEXT PRIMARY KEY,
	enrolment TEXT NOT NULL,
	learner TEXT NOT NULL,
	course TEXT NOT NULL,
	quiz TEXT NOT NULL,            -- a lesson's slug, or final
	started_at BIGINT NOT NULL,
	submitted_at BIGINT NOT NULL DEFAULT 0,
	items TEXT NOT NULL,
	responses TEXT NOT NULL DEFAULT '',
	score INTEGER NOT NULL DEFAULT -1,     -- per mille
	passed INTEGER NOT NULL DEFAULT 0,
	counted INTEGER NOT NULL DEFAULT 1     -- 0 once a teacher reset the attempts
);
CREATE INDEX learning_attempts_enrolment ON learning_attempts (enrolment, quiz, started_at);

-- Mastery of each competence, after Khan Academy's levels.
CREATE TABLE learning_mastery (
	learner TEXT NOT NULL,
	competence TEXT NOT NULL,
	level INTEGER NOT NULL,
	answered INTEGER NOT NULL,
	points INTEGER NOT NULL,       -- per mille of a question, summed
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (learner, competence)
);

-- A course a teacher set a class, with its deadline; extensions per learner.
CREATE TABLE learning_assignments (
	id TEXT PRIMARY KEY,
	course TEXT NOT NULL,
	school TEXT NOT NULL,
	class TEXT NOT NULL,
	deadline BIGINT NOT NULL,
	assigned_by TEXT NOT NULL,
	assigned_at BIGINT NOT NULL,
	UNIQUE (class, course)
);
CREATE INDEX learning_assignments_school ON learning_assignments (school);

CREATE TABLE learning_extensions (
	assignment TEXT NOT NULL,
	learner TEXT NOT NULL,
	deadline BIGINT NOT NULL,
	granted_by TEXT NOT NULL,
	granted_at BIGINT NOT NULL,
	PRIMARY KEY (assignment, learner)
);

-- Community classes: in-person sessions a commune's technology team runs.
CREATE TABLE learning_sessions (
	id TEXT PRIMARY KEY,
	unit TEXT NOT NULL,
	agency TEXT NOT NULL,
	topic TEXT NOT NULL,           -- a course code, or '' for general digital skills
	title TEXT NOT NULL,
	place TEXT NOT NULL,
	starts_at BIGINT NOT NULL,
	ends_at BIGINT NOT NULL,
	capacity INTEGER NOT NULL,
	booked INTEGER NOT NULL DEFAULT 0,
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX learning_sessions_starts ON learning_sessions (starts_at, id);
CREATE INDEX learning_sessions_unit ON learning_sessions (unit, starts_at);

CREATE TABLE learning_seats (
	session TEXT NOT NULL,
	person TEXT NOT NULL,
	booked_at BIGINT NOT NULL,
	booked_by TEXT NOT NULL,
	attended_at BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (session, person)
);
CREATE INDEX learning_seats_person ON learning_seats (person);

-- People an officer marked as trained (in a session or otherwise).
CREATE TABLE learning_trained (
	person TEXT NOT NULL,
	topic TEXT NOT NULL,
	unit TEXT NOT NULL,
	agency TEXT NOT NULL,
	session TEXT NOT NULL,
	marked_by TEXT NOT NULL,
	marked_at BIGINT NOT NULL,
	PRIMARY KEY (person, topic)
);
CREATE INDEX learning_trained_unit ON learning_trained (unit, marked_at);
