-- Alerting: rules, the state of each alert instance, the history of every transition, the
-- channels notifications go to, silences, and the outbox a sender delivers from. A state
-- change, its history row and its outbox rows are written in one transaction, so a restart
-- neither loses a page nor sends it twice (server/src/alerts/).

CREATE TABLE alert_rules (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    -- The rule as written (alerts::rule::RuleSpec, JSON).
    spec         TEXT NOT NULL,
    -- 'ui', or 'file' for rules loaded from --rules-file (read-only in the UI).
    source       TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL,
    last_eval_ms INTEGER,
    -- Why the last evaluation failed; NULL when it succeeded. Shown on the rule.
    eval_error   TEXT
);

CREATE TABLE alert_states (
    rule_id       INTEGER NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    -- The instance's split label as a JSON object; '{}' for an unsplit rule.
    labels        TEXT NOT NULL,
    phase         TEXT NOT NULL,
    active_since  INTEGER,
    firing_since  INTEGER,
    clear_since   INTEGER,
    last_notified INTEGER,
    last_value    REAL,
    samples       INTEGER NOT NULL DEFAULT 0,
    updated_ms    INTEGER NOT NULL,
    PRIMARY KEY (rule_id, labels)
);

-- History outlives its rule: no foreign key, the name is copied.
CREATE TABLE alert_events (
    id         INTEGER PRIMARY KEY,
    rule_id    INTEGER NOT NULL,
    rule_name  TEXT NOT NULL,
    labels     TEXT NOT NULL,
    at_ms      INTEGER NOT NULL,
    from_phase TEXT NOT NULL,
    to_phase   TEXT NOT NULL,
    value      REAL,
    -- 'firing', 'repeat', 'resolved' when the transition notified; NULL otherwise.
    notice     TEXT,
    -- The rendered notification (notify::Message JSON) when it notified.
    message    TEXT
);
CREATE INDEX alert_events_at ON alert_events (at_ms);
CREATE INDEX alert_events_rule ON alert_events (rule_id, at_ms);

CREATE TABLE channels (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    -- notify::ChannelConfig, JSON tagged by kind.
    config     TEXT NOT NULL,
    source     TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);

CREATE TABLE silences (
    id         INTEGER PRIMARY KEY,
    -- [{"name": "alertname", "value": "...", "regex": false}], all must match.
    matchers   TEXT NOT NULL,
    starts_ms  INTEGER NOT NULL,
    ends_ms    INTEGER NOT NULL,
    comment    TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    -- NULL for a channel's "send test".
    event_id        INTEGER,
    channel_id      INTEGER NOT NULL,
    channel_name    TEXT NOT NULL,
    notice          TEXT NOT NULL,
    message         TEXT NOT NULL,
    -- 'pending', 'delivered', 'silenced' (muted, not sent) or 'failed' (given up).
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_error      TEXT,
    created_ms      INTEGER NOT NULL,
    done_ms         INTEGER
);
-- The sender delivers each channel's pending rows oldest first.
CREATE INDEX notifications_pending ON notifications (channel_id, id) WHERE status = 'pending';
CREATE INDEX notifications_event ON notifications (event_id);
