-- How many values PII redaction replaced in a trace at ingest (spans, resource, MLflow trace
-- info), so redacted traces can be found (`redactions > 0`) and counted.
ALTER TABLE traces ADD COLUMN redactions INTEGER NOT NULL DEFAULT 0;
