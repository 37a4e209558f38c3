-- Tail sampling of payloads (server/src/store/sampling.rs): 1 when the trace's span payloads
-- (inputs, outputs, attributes, events) and its previews were not kept. Its spans, totals
-- and rollups are complete either way.
ALTER TABLE traces ADD COLUMN payload_dropped INTEGER NOT NULL DEFAULT 0;
