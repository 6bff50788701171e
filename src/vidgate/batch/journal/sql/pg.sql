-- What only the shared PostgreSQL journal runs. Tokens and parameters as in jobs.sql.

-- name: tables
-- what the shared journal adds to schema.sql: indexes for the claims and the slot count, and
-- the one row that spaces requests over all workers
CREATE INDEX IF NOT EXISTS vidgate_jobs_open ON vidgate_jobs (line)
    WHERE state IN ('pending', 'submitting', 'submitted');
CREATE INDEX IF NOT EXISTS vidgate_jobs_slot ON vidgate_jobs (line) WHERE slot;
CREATE TABLE IF NOT EXISTS vidgate_budget (
    name TEXT PRIMARY KEY,
    next_at DOUBLE PRECISION NOT NULL
);
INSERT INTO vidgate_budget VALUES ('requests', 0) ON CONFLICT DO NOTHING;

-- name: found
SELECT to_regclass('vidgate_jobs'), current_setting('search_path')

-- name: current_schema
SELECT current_schema()

-- name: lock
SELECT pg_advisory_xact_lock(:key)

-- name: try_lock
SELECT pg_try_advisory_xact_lock(:key)

-- name: claim
UPDATE vidgate_jobs SET owner = :owner, lease_until = {now} + CAST(:lease AS DOUBLE PRECISION)
WHERE line IN (
    SELECT line FROM vidgate_jobs WHERE state IN ('pending', 'submitted')
    AND (lease_until IS NULL OR lease_until < {now}){skip}
    ORDER BY line LIMIT :limit FOR UPDATE SKIP LOCKED
)
RETURNING {columns}

-- name: recover_expired
-- a submit nobody holds any more may have reached the gateway: unknown, never resubmitted blindly
UPDATE vidgate_jobs SET state = 'unknown', error = :error, {release}
WHERE state = 'submitting' AND (lease_until IS NULL OR lease_until < {now})
RETURNING line

-- name: reserve_request
UPDATE vidgate_budget SET next_at = GREATEST(next_at, {now}) + :gap
WHERE name = 'requests' RETURNING next_at - :gap - {now}
