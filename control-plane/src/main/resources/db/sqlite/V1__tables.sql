-- tables for VMs, their labels, events, request ids and nodes
CREATE TABLE vms (
  id TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  spec TEXT NOT NULL,
  desired_state TEXT NOT NULL,
  revision INTEGER NOT NULL,
  status TEXT,
  phase TEXT NOT NULL,
  node TEXT NOT NULL,
  created_at TEXT,
  updated_at TEXT
) STRICT;

CREATE TABLE vm_labels (
  vm_id TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (vm_id, key)
) WITHOUT ROWID, STRICT;

CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  vm_id TEXT NOT NULL,
  json TEXT NOT NULL
) STRICT;

CREATE TABLE request_ids (
  request_id TEXT NOT NULL PRIMARY KEY,
  vm_id TEXT NOT NULL
) STRICT;

CREATE TABLE nodes (
  id TEXT NOT NULL PRIMARY KEY,
  endpoint TEXT NOT NULL,
  state TEXT NOT NULL,
  info TEXT NOT NULL,
  last_heartbeat TEXT
) STRICT;
