-- Directory exports, shared by every replica: any replica shows a job's progress, cancels it
-- and serves its file; the replica running it keeps `heartbeat_ms` fresh, so a job whose
-- replica died is told apart from a slow one.
CREATE TABLE IF NOT EXISTS export_jobs (
    id TEXT PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL,
    replica TEXT NOT NULL,
    -- running | done | cancelled | failed
    status TEXT NOT NULL,
    -- The failure (the portal's error, as JSON) when failed.
    failure TEXT,
    pages_done INTEGER NOT NULL DEFAULT 0,
    pages_total INTEGER NOT NULL DEFAULT 0,
    users INTEGER NOT NULL DEFAULT 0,
    as_service INTEGER NOT NULL DEFAULT 0,
    started_ms INTEGER NOT NULL,
    finished_ms INTEGER,
    heartbeat_ms INTEGER NOT NULL,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
-- One running export per sign-in, across replicas.
CREATE UNIQUE INDEX IF NOT EXISTS export_jobs_one_running_per_owner
    ON export_jobs (owner) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS export_jobs_by_finish ON export_jobs (finished_ms);
-- The file, a chunk per page in order (the header is chunk 0).
CREATE TABLE IF NOT EXISTS export_chunks (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
