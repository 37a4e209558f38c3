-- Trace search (the trace explorer): a duration to sort and filter on, and indexes for the
-- explorer's orders and most common filters. Every order is (key, id): `id` breaks ties so
-- keyset pages never overlap, and one ascending index serves both directions.

-- -1 while the trace has no extent yet (no span, or a bad clock). The guard also keeps the
-- subtraction from overflowing, which would fail the writer's whole batch.
ALTER TABLE traces ADD COLUMN duration_ns BIGINT GENERATED ALWAYS AS (
    CASE WHEN start_ns >= 0 AND end_ns >= start_ns THEN end_ns - start_ns ELSE -1 END
) STORED;

-- Replaced by (start_ns, id), which also orders ties.
DROP INDEX traces_start;
CREATE INDEX traces_start_id ON traces (start_ns, id);
CREATE INDEX traces_duration_id ON traces (duration_ns, id);
CREATE INDEX traces_status_start ON traces (status, start_ns, id);
CREATE INDEX traces_name_start ON traces (name, start_ns, id);
