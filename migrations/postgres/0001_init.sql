-- Sightline schema, PostgreSQL dialect. Same tables and meaning as migrations/sqlite.

CREATE TABLE experiments (
    experiment_id     BIGSERIAL PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    artifact_location TEXT NOT NULL,
    lifecycle_stage   TEXT NOT NULL DEFAULT 'active',
    creation_time     BIGINT NOT NULL,
    last_update_time  BIGINT NOT NULL,
    tags              TEXT NOT NULL DEFAULT '{}'
);

INSERT INTO experiments (experiment_id, name, artifact_location, creation_time, last_update_time)
VALUES (0, 'Default', 'mlflow-artifacts:/0',
        (extract(epoch from now()) * 1000)::BIGINT, (extract(epoch from now()) * 1000)::BIGINT);
-- Experiment ids start at 1 for created experiments, as in MLflow.
SELECT setval(pg_get_serial_sequence('experiments', 'experiment_id'), 1, false);

CREATE TABLE traces (
    trace_id          BYTEA PRIMARY KEY,
    experiment_id     BIGINT NOT NULL REFERENCES experiments (experiment_id),
    start_ns          BIGINT NOT NULL,
    end_ns            BIGINT NOT NULL,
    status            TEXT NOT NULL,
    root_span_id      BYTEA,
    name              TEXT,
    service_name      TEXT,
    session_id        TEXT,
    user_id           TEXT,
    models            TEXT NOT NULL DEFAULT '[]',
    input_tokens      BIGINT NOT NULL DEFAULT 0,
    output_tokens     BIGINT NOT NULL DEFAULT 0,
    cached_tokens     BIGINT NOT NULL DEFAULT 0,
    cost              DOUBLE PRECISION,
    span_count        BIGINT NOT NULL DEFAULT 0,
    error_count       BIGINT NOT NULL DEFAULT 0,
    request_preview   TEXT,
    response_preview  TEXT,
    client_request_id TEXT,
    metadata          TEXT NOT NULL DEFAULT '{}',
    info_finalized    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX traces_start ON traces (start_ns DESC);
CREATE INDEX traces_experiment_start ON traces (experiment_id, start_ns DESC);
CREATE INDEX traces_session ON traces (session_id, start_ns) WHERE session_id IS NOT NULL;

CREATE TABLE trace_tags (
    trace_id BYTEA NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (trace_id, key)
);
CREATE INDEX trace_tags_key_value ON trace_tags (key, value);

CREATE TABLE spans (
    trace_id       BYTEA NOT NULL,
    span_id        BYTEA NOT NULL,
    parent_span_id BYTEA,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    start_ns       BIGINT NOT NULL,
    end_ns         BIGINT NOT NULL,
    status         SMALLINT NOT NULL,
    status_message TEXT NOT NULL DEFAULT '',
    model          TEXT,
    provider       TEXT,
    input_tokens   BIGINT,
    output_tokens  BIGINT,
    cached_tokens  BIGINT,
    cost_input     DOUBLE PRECISION,
    cost_output    DOUBLE PRECISION,
    payload        BYTEA NOT NULL,
    PRIMARY KEY (trace_id, span_id)
);

CREATE TABLE model_prices (
    model                 TEXT NOT NULL,
    provider              TEXT,
    input_per_mtok        DOUBLE PRECISION NOT NULL,
    output_per_mtok       DOUBLE PRECISION NOT NULL,
    cached_input_per_mtok DOUBLE PRECISION,
    effective_from_ms     BIGINT NOT NULL,
    PRIMARY KEY (model, effective_from_ms)
);

-- Payloads are zstd-compressed already: skip TOAST's own compression attempt.
ALTER TABLE spans ALTER COLUMN payload SET STORAGE EXTERNAL;
