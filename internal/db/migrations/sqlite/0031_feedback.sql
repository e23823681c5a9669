-- Citizen feedback (internal/feedback): categories and the rules that route
-- a report to the agency responsible for its place, the reports with their
-- timeline and photos, the API keys of Open311 client apps, and the
-- planning layers officials import. Reporters are named by account only
-- (never on a public page); anonymous reporters by the SHA-256 of their
-- tracking code.

-- A category of problem, with its names (as data, so a province adds its
-- own without a release), the deadline its reports get, and whether it
-- stays off every public page (security and order).
CREATE TABLE feedback_categories (
	code TEXT PRIMARY KEY,
	name_vi TEXT NOT NULL,
	name_en TEXT NOT NULL,
	name_ar TEXT NOT NULL,
	sensitive INTEGER NOT NULL DEFAULT 0,
	deadline_hours INTEGER NOT NULL,
	position INTEGER NOT NULL,
	attributes TEXT NOT NULL DEFAULT '[]',
	active INTEGER NOT NULL DEFAULT 1
);

INSERT INTO feedback_categories (code, name_vi, name_en, name_ar, sensitive, deadline_hours, position, attributes) VALUES
('environment', 'Môi trường', 'Environment', 'البيئة', 0, 120, 1,
 '[{"code":"kind","datatype":"singlevaluelist","required":false,"order":1,"description":{"vi":"Loại vấn đề","en":"Kind of problem","ar":"نوع المشكلة"},"values":[{"key":"waste","name":{"vi":"Rác thải","en":"Waste","ar":"نفايات"}},{"key":"water","name":{"vi":"Nước thải, ô nhiễm nước","en":"Waste water, water pollution","ar":"مياه الصرف وتلوث المياه"}},{"key":"air","name":{"vi":"Khói, bụi, mùi","en":"Smoke, dust, smell","ar":"دخان وغبار وروائح"}},{"key":"noise","name":{"vi":"Tiếng ồn","en":"Noise","ar":"ضوضاء"}}]}]'),
('security_order', 'An ninh, trật tự', 'Security and order', 'الأمن والنظام', 1, 48, 2, '[]'),
('urban_infrastructure', 'Hạ tầng đô thị', 'Urban infrastructure', 'البنية التحتية الحضرية', 0, 168, 3,
 '[{"code":"kind","datatype":"singlevaluelist","required":false,"order":1,"description":{"vi":"Loại vấn đề","en":"Kind of problem","ar":"نوع المشكلة"},"values":[{"key":"pothole","name":{"vi":"Ổ gà, mặt đường hư hỏng","en":"Pothole, broken road surface","ar":"حفرة في الطريق"}},{"key":"streetlight","name":{"vi":"Đèn đường hỏng","en":"Street light out","ar":"إنارة شارع معطلة"}},{"key":"drainage","name":{"vi":"Cống, thoát nước","en":"Drain, flooding","ar":"تصريف المياه"}},{"key":"sidewalk","name":{"vi":"Vỉa hè","en":"Pavement","ar":"رصيف"}}]}]'),
('traffic', 'Giao thông', 'Traffic', 'المرور', 0, 72, 4, '[]'),
('public_services', 'Dịch vụ công', 'Public services', 'الخدمات العامة', 0, 120, 5, '[]'),
('land_construction', 'Đất đai, xây dựng', 'Land and construction', 'الأراضي والبناء', 0, 240, 6, '[]'),
('other', 'Khác', 'Other', 'أخرى', 0, 168, 7, '[]');

-- Which agency answers a category in an area: an agency named by code, or
-- the agency of a kind at a level above the report's commune (the
-- commune's People's Committee, the district police). The rule for the
-- smallest area that holds the commune wins; unit '' is everywhere.
CREATE TABLE feedback_rules (
	id TEXT PRIMARY KEY,
	category TEXT NOT NULL REFERENCES feedback_categories (code),
	unit TEXT NOT NULL DEFAULT '',
	agency TEXT NOT NULL DEFAULT '',
	agency_kind TEXT NOT NULL DEFAULT '',
	agency_level TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	UNIQUE (category, unit)
);

-- A report. Its place is a point and the commune and district holding it;
-- sensitive is copied from the category when it is sent. reporter is the
-- e-ID account ('' for an anonymous report, followed by its tracking code,
-- kept as tracking_hash). contact_* reach a reporter who came through an
-- Open311 app, for notices only. token is the Open311 token.
CREATE TABLE feedback_reports (
	id TEXT PRIMARY KEY,
	token TEXT NOT NULL UNIQUE,
	tracking_hash TEXT NOT NULL DEFAULT '',
	category TEXT NOT NULL REFERENCES feedback_categories (code),
	sensitive INTEGER NOT NULL,
	commune TEXT NOT NULL,
	district TEXT NOT NULL,
	lat DOUBLE PRECISION NOT NULL,
	lon DOUBLE PRECISION NOT NULL,
	located TEXT NOT NULL CHECK (located IN ('point', 'address')),
	address TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL,
	attributes TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL CHECK (status IN ('submitted', 'received', 'in_progress', 'resolved', 'closed')),
	status_note TEXT NOT NULL DEFAULT '',
	waiting_reporter INTEGER NOT NULL DEFAULT 0,
	agency TEXT NOT NULL,
	team TEXT NOT NULL DEFAULT '',
	handler TEXT NOT NULL DEFAULT '',
	reporter TEXT NOT NULL DEFAULT '',
	contact_phone TEXT NOT NULL DEFAULT '',
	contact_email TEXT NOT NULL DEFAULT '',
	client TEXT NOT NULL DEFAULT '',
	channel TEXT NOT NULL,
	supporters INTEGER NOT NULL DEFAULT 0,
	photos INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	due_at BIGINT NOT NULL,
	received_at BIGINT NOT NULL DEFAULT 0,
	resolved_at BIGINT NOT NULL DEFAULT 0,
	first_resolved_at BIGINT NOT NULL DEFAULT 0,
	closed_at BIGINT NOT NULL DEFAULT 0,
	reopened INTEGER NOT NULL DEFAULT 0,
	rating INTEGER NOT NULL DEFAULT 0,
	rating_comment TEXT NOT NULL DEFAULT '',
	rated_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX feedback_reports_agency ON feedback_reports (agency, status, id);
CREATE INDEX feedback_reports_team ON feedback_reports (team, status, id);
CREATE INDEX feedback_reports_reporter ON feedback_reports (reporter, id);
CREATE INDEX feedback_reports_tracking ON feedback_reports (tracking_hash);
CREATE INDEX feedback_reports_created ON feedback_reports (created_at);
CREATE INDEX feedback_reports_updated ON feedback_reports (updated_at);
CREATE INDEX feedback_reports_district_due ON feedback_reports (district, due_at);
CREATE INDEX feedback_reports_resolved ON feedback_reports (status, resolved_at);

-- The timeline: every step, numbered per report, with the status before
-- and after. Public steps show on the report's page with the acting
-- agency, never the person.
CREATE TABLE feedback_events (
	id TEXT PRIMARY KEY,
	report_id TEXT NOT NULL REFERENCES feedback_reports (id),
	seq INTEGER NOT NULL,
	at BIGINT NOT NULL,
	kind TEXT NOT NULL,
	from_status TEXT NOT NULL,
	to_status TEXT NOT NULL,
	public INTEGER NOT NULL,
	note TEXT NOT NULL DEFAULT '',
	agency TEXT NOT NULL DEFAULT '',
	actor_kind TEXT NOT NULL,
	actor_id TEXT NOT NULL DEFAULT '',
	photo_id TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX feedback_events_report ON feedback_events (report_id, seq);
CREATE INDEX feedback_events_kind_at ON feedback_events (kind, at);

-- Photos, re-encoded as JPEG without metadata, with their thumbnails: in the
-- database, so that every instance behind a load balancer serves them.
CREATE TABLE feedback_photos (
	id TEXT PRIMARY KEY,
	report_id TEXT NOT NULL REFERENCES feedback_reports (id),
	role TEXT NOT NULL CHECK (role IN ('report', 'fix')),
	position INTEGER NOT NULL,
	width INTEGER NOT NULL,
	height INTEGER NOT NULL,
	image BLOB NOT NULL,
	thumb BLOB NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX feedback_photos_report ON feedback_photos (report_id, position);

-- Open311 client apps and the SHA-256 of their API keys.
CREATE TABLE feedback_clients (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	key_hash TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL,
	revoked_at BIGINT NOT NULL DEFAULT 0
);

-- Planning layers (land-use zones, projects) imported from GeoJSON, valid
-- between two days (inclusive; '' for open ends).
CREATE TABLE feedback_layers (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('zoning', 'project')),
	valid_from TEXT NOT NULL DEFAULT '',
	valid_to TEXT NOT NULL DEFAULT '',
	features INTEGER NOT NULL,
	agency TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	withdrawn_at BIGINT NOT NULL DEFAULT 0
);

-- A feature of a layer: its name, its properties (JSON object of strings)
-- and its geometry (JSON: [[lon, lat], ...] rings per polygon), with its
-- bounding box for lookups by point.
CREATE TABLE feedback_features (
	id TEXT PRIMARY KEY,
	layer_id TEXT NOT NULL REFERENCES feedback_layers (id),
	position INTEGER NOT NULL,
	name TEXT NOT NULL,
	properties TEXT NOT NULL,
	kind TEXT NOT NULL,
	geometry TEXT NOT NULL,
	min_lat DOUBLE PRECISION NOT NULL,
	min_lon DOUBLE PRECISION NOT NULL,
	max_lat DOUBLE PRECISION NOT NULL,
	max_lon DOUBLE PRECISION NOT NULL
);
CREATE INDEX feedback_features_layer ON feedback_features (layer_id, position);
