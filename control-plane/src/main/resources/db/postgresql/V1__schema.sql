-- tables for VMs, their labels, events and their seq counter, request ids and nodes, with their indexes
-- Ids and names sort as bytes (COLLATE "C"), as in SQLite, whatever the database's locale: listings
-- page by id. Times are ISO-8601 text, which keeps an Instant's nanoseconds (timestamptz keeps
-- microseconds). Specs, statuses, events and node infos are protobuf JSON as text, byte for byte.
CREATE TABLE vms (
  id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  name TEXT COLLATE "C" NOT NULL UNIQUE,
  spec TEXT NOT NULL,
  desired_state TEXT NOT NULL,
  revision BIGINT NOT NULL,
  status TEXT,
  phase TEXT NOT NULL,
  node TEXT COLLATE "C" NOT NULL,
  created_at TEXT,
  updated_at TEXT,
  owner TEXT NOT NULL DEFAULT ''
);

CREATE TABLE vm_labels (
  vm_id TEXT COLLATE "C" NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
  key TEXT COLLATE "C" NOT NULL,
  value TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (vm_id, key)
);

CREATE TABLE events (
  seq BIGINT NOT NULL PRIMARY KEY,
  vm_id TEXT COLLATE "C" NOT NULL,
  json TEXT NOT NULL
);

-- The last seq given, in one row that every writing transaction locks and updates: writers of every
-- control plane serialize on it, and a rolled-back transaction leaves no gap (a sequence would).
CREATE TABLE event_counter (
  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  last_seq BIGINT NOT NULL
);
INSERT INTO event_counter(id, last_seq) VALUES (1, 0);

CREATE TABLE request_ids (
  request_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  vm_id TEXT NOT NULL
);

CREATE TABLE nodes (
  id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  endpoint TEXT NOT NULL,
  state TEXT NOT NULL,
  info TEXT NOT NULL,
  last_heartbeat TEXT
);

CREATE INDEX vms_by_phase ON vms(phase, id);
CREATE INDEX vms_by_node ON vms(node, id);
CREATE INDEX vm_labels_by_entry ON vm_labels(key, value, vm_id);
CREATE INDEX events_by_vm ON events(vm_id, seq);
