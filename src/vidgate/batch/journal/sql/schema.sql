-- The journal's tables, one definition for both backends: {jobs} and {meta} are the backend's
-- table names (SQLite: jobs, meta; PostgreSQL: vidgate_jobs, vidgate_meta). SQLite reads the
-- types by affinity (DOUBLE PRECISION is REAL, BIGINT is INTEGER, BOOLEAN holds 0 or 1).
-- name: tables
CREATE TABLE IF NOT EXISTS {jobs} (
    line INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    state TEXT NOT NULL,
    task_id TEXT,
    status TEXT,
    error TEXT,
    file TEXT,
    sha256 TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated DOUBLE PRECISION NOT NULL,
    size BIGINT,
    worker TEXT,
    owner TEXT,
    lease_until DOUBLE PRECISION,
    slot BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS {meta} (key TEXT PRIMARY KEY, value TEXT NOT NULL);
