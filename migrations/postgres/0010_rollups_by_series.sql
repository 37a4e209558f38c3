-- Rollup cells keyed series first. A board reads a few series over a range of buckets; with
-- the bucket first, each of its reads walked every series' cells in the range. Series first,
-- each read seeks its series' ranges. Reads of every series over a range (compaction,
-- /metrics, retention) use the bucket index.
ALTER TABLE rollups DROP CONSTRAINT rollups_pkey;
ALTER TABLE rollups ADD PRIMARY KEY (resolution, series, bucket);
CREATE INDEX rollups_by_bucket ON rollups (resolution, bucket);
