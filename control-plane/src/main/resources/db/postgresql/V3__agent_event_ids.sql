-- each agent event's node and per-VM seq, so that one delivered twice is found and recorded once
ALTER TABLE events ADD COLUMN node TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN vm_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX events_by_agent_seq ON events(node, vm_id, vm_seq) WHERE vm_seq > 0;
