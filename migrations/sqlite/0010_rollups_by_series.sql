-- Rollup cells keyed series first. A board reads a few series over a range of buckets; with
-- the bucket first, each of its reads walked every series' cells in the range (at 1M traces a
-- 7-day board stepped over 81,000 hour cells to return 1,000: 10 ms per read, five reads).
-- Series first, each read seeks its series' ranges. Reads of every series over a range
-- (compaction, /metrics, retention) use the bucket index.
-- SQLite only: PostgreSQL keeps (resolution, bucket, series). Given both indexes, its planner
-- chose the bucket index for a board read (a bitmap over every series' cells, then filtering)
-- and the board got slower (7 days at 30k traces: 43 -> 69 ms); its range scan on the old key
-- filters the series inside the index.
CREATE TABLE rollups_by_series (
    resolution    INTEGER NOT NULL,
    bucket        INTEGER NOT NULL,
    series        INTEGER NOT NULL REFERENCES rollup_series (id),
    count         INTEGER NOT NULL,
    error_count   INTEGER NOT NULL,
    blocked_count INTEGER NOT NULL,
    guarded_count INTEGER NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    cost_input    REAL NOT NULL,
    cost_output   REAL NOT NULL,
    latency       BLOB NOT NULL,
    histogram     BLOB NOT NULL,
    -- Trace cells: the slowest and latest failed traces (rollup/exemplar.rs).
    exemplars     BLOB NOT NULL,
    PRIMARY KEY (resolution, series, bucket)
) WITHOUT ROWID;
INSERT INTO rollups_by_series (resolution, bucket, series, count, error_count, blocked_count, guarded_count,
    input_tokens, output_tokens, cached_tokens, cost_input, cost_output, latency, histogram,
    exemplars)
SELECT resolution, bucket, series, count, error_count, blocked_count, guarded_count,
    input_tokens, output_tokens, cached_tokens, cost_input, cost_output, latency, histogram,
    exemplars
FROM rollups;
DROP TABLE rollups;
ALTER TABLE rollups_by_series RENAME TO rollups;
CREATE INDEX rollups_by_bucket ON rollups (resolution, bucket);
