-- Sightline schema, SQLite dialect. Ids are raw bytes (16-byte trace ids, 8-byte span ids);
-- times are Unix nanoseconds; span payloads are zstd-compressed JSON.

CREATE TABLE experiments (
    experiment_id     INTEGER PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    artifact_location TEXT NOT NULL,
    lifecycle_stage   TEXT NOT NULL DEFAULT 'active',
    creation_time     INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL,
    tags              TEXT NOT NULL DEFAULT '{}'
);

INSERT INTO experiments (experiment_id, name, artifact_location, creation_time, last_update_time)
VALUES (0, 'Default', 'mlflow-artifacts:/0', CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER));

-- `id` is insertion-ordered: tag rows keyed by it append to the end of each (key, value)
-- group of their index instead of landing on a random page (2x fewer pages written).
CREATE TABLE traces (
    id                INTEGER PRIMARY KEY,
    trace_id          BLOB NOT NULL UNIQUE,
    experiment_id     INTEGER NOT NULL REFERENCES experiments (experiment_id),
    start_ns          INTEGER NOT NULL,
    end_ns            INTEGER NOT NULL,
    status            TEXT NOT NULL,
    root_span_id      BLOB,
    name              TEXT,
    service_name      TEXT,
    session_id        TEXT,
    user_id           TEXT,
    models            TEXT NOT NULL DEFAULT '[]',
    input_tokens      INTEGER NOT NULL DEFAULT 0,
    output_tokens     INTEGER NOT NULL DEFAULT 0,
    cached_tokens     INTEGER NOT NULL DEFAULT 0,
    cost              REAL,
    span_count        INTEGER NOT NULL DEFAULT 0,
    error_count       INTEGER NOT NULL DEFAULT 0,
    request_preview   TEXT,
    response_preview  TEXT,
    client_request_id TEXT,
    metadata          TEXT NOT NULL DEFAULT '{}',
    info_finalized    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX traces_start ON traces (start_ns DESC);
CREATE INDEX traces_experiment_start ON traces (experiment_id, start_ns DESC);
CREATE INDEX traces_session ON traces (session_id, start_ns) WHERE session_id IS NOT NULL;

CREATE TABLE trace_tags (
    trace_row INTEGER NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (trace_row, key)
) WITHOUT ROWID;
CREATE INDEX trace_tags_key_value ON trace_tags (key, value, trace_row);

-- A rowid table (not WITHOUT ROWID): payloads are large and would bloat the primary b-tree.
CREATE TABLE spans (
    trace_id       BLOB NOT NULL,
    span_id        BLOB NOT NULL,
    parent_span_id BLOB,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    start_ns       INTEGER NOT NULL,
    end_ns         INTEGER NOT NULL,
    status         INTEGER NOT NULL,
    status_message TEXT NOT NULL DEFAULT '',
    model          TEXT,
    provider       TEXT,
    input_tokens   INTEGER,
    output_tokens  INTEGER,
    cached_tokens  INTEGER,
    cost_input     REAL,
    cost_output    REAL,
    payload        BLOB NOT NULL
);
CREATE UNIQUE INDEX spans_trace_span ON spans (trace_id, span_id);

CREATE TABLE model_prices (
    model                 TEXT NOT NULL,
    provider              TEXT,
    input_per_mtok        REAL NOT NULL,
    output_per_mtok       REAL NOT NULL,
    cached_input_per_mtok REAL,
    effective_from_ms     INTEGER NOT NULL,
    PRIMARY KEY (model, effective_from_ms)
);
