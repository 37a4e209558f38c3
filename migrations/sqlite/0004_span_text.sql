-- Search inside spans (`span.content`, `text`, `span.attributes.<key>`): span payloads are
-- compressed, so the writer stores each new span's searchable text here, uncompressed and
-- capped (server/src/store/span_text.rs), in the same transaction as the span.
--
-- One row per span with inputs, outputs or attributes. `trace_row` is traces.id: searches ask
-- "does some span of this trace match", probing the rows of one trace at a time while walking
-- the trace list in its sort order, so the index on it is the one that matters. There is no
-- trigram index on `content`: substring search walks the list's order and stops after a page,
-- which is fast for any term common enough to fill one; a full-text index would have to be
-- maintained by the single writer for every span (see README, Figures).
CREATE TABLE span_search (
    trace_row  INTEGER NOT NULL,
    -- String leaves of the inputs and outputs, one per line, at most 8 KiB.
    content    TEXT NOT NULL,
    -- JSON object of attribute values, '{}' when the span has none worth indexing.
    attributes TEXT NOT NULL
);
CREATE INDEX span_search_trace ON span_search (trace_row);
