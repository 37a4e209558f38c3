-- Substring search inside spans that does not read every span: a trigram index over
-- `span_search.content` (FTS5's trigram tokenizer; external content, so the text is stored
-- once). A search whose `span.content LIKE` pattern matches few spans reads the matching
-- trace rows from it and sorts them; a common one still walks the trace list in order and
-- stops after a page (store/search_sql.rs, `driver`).
--
-- Case-insensitive and without positions (detail = 'none'): LIKE on this table finds a
-- superset of a case-sensitive LIKE, and the search re-tests the exact pattern; positions
-- would only serve phrase queries, which no search asks, and cost about half the index.
CREATE VIRTUAL TABLE span_search_trigram USING fts5(
    content,
    content = 'span_search',
    content_rowid = 'rowid',
    tokenize = 'trigram',
    detail = 'none'
);
INSERT INTO span_search_trigram (span_search_trigram) VALUES ('rebuild');

-- Rows of span_search are inserted with their span and deleted with their trace, never
-- updated.
CREATE TRIGGER span_search_trigram_insert AFTER INSERT ON span_search BEGIN
    INSERT INTO span_search_trigram (rowid, content) VALUES (new.rowid, new.content);
END;
CREATE TRIGGER span_search_trigram_delete AFTER DELETE ON span_search BEGIN
    INSERT INTO span_search_trigram (span_search_trigram, rowid, content)
    VALUES ('delete', old.rowid, old.content);
END;
