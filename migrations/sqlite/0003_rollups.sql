-- Rollups: per-minute (and, after compaction, per-hour) pre-aggregates per series, written by
-- the writer with the spans. See server/src/rollup/mod.rs for what a series and a cell are.

-- Bit 0: a guardrail span that blocked.
ALTER TABLE spans ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;

ALTER TABLE traces ADD COLUMN guardrail_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE traces ADD COLUMN blocked_count INTEGER NOT NULL DEFAULT 0;
-- NULL until the trace is rolled up (its root arrived, or the sweep stopped waiting).
ALTER TABLE traces ADD COLUMN rollup_dims TEXT;
-- Traces written before rollups existed are not swept into them: backfilling history is a
-- separate, explicit job, not a surprise at upgrade.
UPDATE traces SET rollup_dims = '{}';
-- The sweep looks for traces still waiting for their root, oldest first.
CREATE INDEX traces_rollup_pending ON traces (start_ns) WHERE rollup_dims IS NULL;

CREATE TABLE rollup_series (
    id         INTEGER PRIMARY KEY,
    level      TEXT NOT NULL,
    service    TEXT NOT NULL,
    trace_name TEXT NOT NULL,
    span_name  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    model      TEXT NOT NULL,
    tags       TEXT NOT NULL,
    UNIQUE (level, service, trace_name, span_name, kind, model, tags)
);

CREATE TABLE rollups (
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
    PRIMARY KEY (resolution, bucket, series)
) WITHOUT ROWID;

-- `compacted_until`: hours before it have hour rows (epoch seconds, hour-aligned).
CREATE TABLE rollup_state (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO rollup_state (key, value) VALUES ('compacted_until', 0);
