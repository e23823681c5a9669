-- Token Status Lists (internal/statuslist): the status of every document
-- the wallet issues, published as signed lists at /status/{id}.
CREATE TABLE status_lists (
	id TEXT PRIMARY KEY,           -- random: the last segment of the list's URI
	group_name TEXT NOT NULL,      -- lists that hand out indexes together
	bits INTEGER NOT NULL,         -- 1, 2, 4 or 8 bits per entry
	size INTEGER NOT NULL,         -- entries
	packed BLOB NOT NULL,          -- the entries, least significant bit first, uncompressed
	version BIGINT NOT NULL,       -- moves at every change: served tokens are rebuilt when it does
	state TEXT NOT NULL,           -- 'open' hands out indexes; 'full' is only served
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX status_lists_open ON status_lists (group_name, state, created_at);

-- One row per index handed out. The primary key is what keeps an index
-- from being handed out twice, across processes and rollbacks. No time is
-- kept: an entry must not date the document that holds it.
CREATE TABLE status_list_entries (
	list_id TEXT NOT NULL REFERENCES status_lists (id),
	idx INTEGER NOT NULL,
	PRIMARY KEY (list_id, idx)
) WITHOUT ROWID;
