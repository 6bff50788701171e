-- What only the SQLite journal runs (one process at a time). Tokens and parameters as in jobs.sql.

-- name: claim
UPDATE jobs SET owner = :owner, lease_until = {now} + CAST(:lease AS DOUBLE PRECISION)
WHERE line IN (
    SELECT line FROM jobs WHERE state IN ('pending', 'submitted')
    AND (lease_until IS NULL OR lease_until < {now}){skip}
    ORDER BY line LIMIT :limit
)
RETURNING {columns}

-- name: recover
-- after a crash: a submit without a recorded reply may have reached the gateway
UPDATE jobs SET state = 'unknown', error = :error, {release}
WHERE state = 'submitting'

-- name: drop_leases
UPDATE jobs SET owner = NULL, lease_until = NULL

-- name: columns
SELECT name FROM pragma_table_info('jobs')
