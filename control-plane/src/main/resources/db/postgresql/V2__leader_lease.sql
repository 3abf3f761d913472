-- the leader's lease: one row, held by one control plane at a time, with a fencing epoch
-- A control plane leads while it holds the row unexpired; the times are the database's (now()), so
-- no two hosts' clocks are compared. The epoch grows with every new term, a lease taken again after it
-- expired included: agents and leader-only writes refuse an older one.
CREATE TABLE leader_lease (
  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  holder TEXT NOT NULL,
  epoch BIGINT NOT NULL,
  acquired_at TIMESTAMPTZ NOT NULL,
  renewed_at TIMESTAMPTZ NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL
);

INSERT INTO leader_lease (id, holder, epoch, acquired_at, renewed_at, expires_at)
  VALUES (1, '', 0, '-infinity', '-infinity', '-infinity');
