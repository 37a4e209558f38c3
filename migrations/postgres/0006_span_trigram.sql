-- Substring search inside spans that does not read every span: a trigram GIN index over
-- `span_search.content` (pg_trgm, a trusted extension since PostgreSQL 13). A search whose
-- `span.content LIKE` pattern matches few spans reads the matching trace rows through it and
-- sorts them; a common one still walks the trace list in order and stops after a page
-- (store/search_sql.rs, `driver`). pg_trgm's trigrams are case-insensitive: the index serves
-- LIKE and ILIKE alike.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX span_search_content_trgm ON span_search USING gin (content gin_trgm_ops);
