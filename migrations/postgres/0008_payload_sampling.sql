-- Tail sampling of payloads (server/src/store/sampling.rs): true when the trace's span
-- payloads (inputs, outputs, attributes, events) and its previews were not kept. Its spans,
-- totals and rollups are complete either way.
ALTER TABLE traces ADD COLUMN payload_dropped BOOLEAN NOT NULL DEFAULT FALSE;
