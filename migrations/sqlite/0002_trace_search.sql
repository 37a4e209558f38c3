-- Trace search (the trace explorer): a duration to sort and filter on, and indexes for the
-- explorer's orders and most common filters. Every order is (key, id): `id` breaks ties so
-- keyset pages never overlap, and one ascending index serves both directions.

-- VIRTUAL: SQLite cannot add a STORED column to an existing table. The index below stores
-- the value anyway. -1 while the trace has no extent yet (no span, or a bad clock).
ALTER TABLE traces ADD COLUMN duration_ns INTEGER GENERATED ALWAYS AS (
    CASE WHEN start_ns >= 0 AND end_ns >= start_ns THEN end_ns - start_ns ELSE -1 END
) VIRTUAL;

-- Replaced by (start_ns, id): a DESC index on start_ns alone sorts ties by id ascending,
-- which neither direction of the keyset order can walk.
DROP INDEX traces_start;
CREATE INDEX traces_start_id ON traces (start_ns, id);
CREATE INDEX traces_duration_id ON traces (duration_ns, id);
CREATE INDEX traces_status_start ON traces (status, start_ns, id);
CREATE INDEX traces_name_start ON traces (name, start_ns, id);
