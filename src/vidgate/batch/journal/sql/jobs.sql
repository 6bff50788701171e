-- The statements both journals run, written once. Each starts at a "-- name: NAME" line.
-- Tokens filled in by the backend: {jobs} and {meta} (its table names), {now} (the database's
-- clock in epoch seconds), {columns} (the columns of a Job, base.COLUMNS), {release} (what
-- leaving the in-flight states clears), {skip} (lines left out, or nothing). Parameters are
-- :name (the PostgreSQL driver turns them into %(name)s).

-- name: meta
SELECT value FROM {meta} WHERE key = :key

-- name: set_meta
INSERT INTO {meta} (key, value) VALUES (:key, :value)
ON CONFLICT (key) DO UPDATE SET value = excluded.value

-- name: add
INSERT INTO {jobs} (line, body, idempotency_key, state, error, updated)
VALUES (:line, :body, :key, :state, :error, {now})
ON CONFLICT (line) DO NOTHING

-- name: bodies
-- what the journal holds for the lines just added ({lines}: their numbers)
SELECT line, body FROM {jobs} WHERE line IN ({lines})

-- name: start_submit
-- pending -> submitting, committed before the request is written; never a job another holds
UPDATE {jobs} SET state = 'submitting', attempts = attempts + 1, updated = {now},
    owner = COALESCE(CAST(:owner AS TEXT), owner),
    lease_until = {now} + CAST(:lease AS DOUBLE PRECISION)
WHERE line = :line AND state = 'pending'
    AND (owner IS NULL OR owner = CAST(:owner AS TEXT))

-- name: retry
-- failed -> pending with a new idempotency key (the old one would bring back the failed task)
UPDATE {jobs} SET state = 'pending', task_id = NULL, error = NULL, status = NULL,
    idempotency_key = substr(idempotency_key, 1, 48) || '-retry' || attempts,
    updated = {now}
WHERE line = :line AND state = 'failed'

-- name: hold
UPDATE {jobs} SET lease_until = {now} + CAST(:lease AS DOUBLE PRECISION)
WHERE line = :line AND owner = :owner AND state = :state

-- name: heartbeat
UPDATE {jobs} SET lease_until = {now} + CAST(:lease AS DOUBLE PRECISION) WHERE owner = :owner

-- name: release
UPDATE {jobs} SET owner = NULL, lease_until = NULL WHERE line = :line AND owner = :owner

-- name: release_slot
UPDATE {jobs} SET owner = NULL, lease_until = NULL, slot = false
WHERE line = :line AND owner = :owner

-- name: open_jobs
SELECT count(*), min(lease_until) - {now} FROM {jobs}
WHERE state IN ('pending', 'submitting', 'submitted'){skip}

-- name: slots
-- whether the job holds an in-flight slot, and how many are held
SELECT (SELECT slot FROM {jobs} WHERE line = :line), (SELECT count(*) FROM {jobs} WHERE slot)

-- name: take_slot
UPDATE {jobs} SET slot = true WHERE line = :line

-- name: free_slot
UPDATE {jobs} SET slot = false WHERE line = :line

-- name: job
SELECT {columns} FROM {jobs} WHERE line = :line

-- name: jobs
SELECT {columns} FROM {jobs}

-- name: counts
SELECT state, count(*) FROM {jobs} GROUP BY state
