-- the control planes sharing this database, each announcing itself at every lease attempt, so that any of
-- them can tell who is there, who leads and since when; a clean stop removes its row
CREATE TABLE control_planes (
  id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  addresses TEXT NOT NULL,
  started_at TIMESTAMPTZ NOT NULL,
  last_seen TIMESTAMPTZ NOT NULL
);
