-- Access control (server/src/auth/): local users with argon2 password hashes and roles,
-- their sign-in sessions, and API keys with scopes. Session tokens and API keys are stored
-- only as SHA-256 hashes: a copy of the database lets no one sign in or send data.

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    -- PHC string (argon2id, its parameters and salt).
    password_hash        TEXT NOT NULL,
    -- 'viewer', 'editor' or 'admin'.
    role                 TEXT NOT NULL,
    -- 1 for a one-time password (first admin, reset): pages ask for a new one first.
    must_change_password INTEGER NOT NULL DEFAULT 0,
    created_ms           INTEGER NOT NULL,
    -- Set when an admin disabled the account: it can no longer sign in.
    disabled_ms          INTEGER
);

CREATE TABLE user_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    -- The key's first characters, shown in the UI to tell keys apart.
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    -- Comma-separated: 'ingest', 'read'.
    scopes       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    last_used_ms INTEGER,
    revoked_ms   INTEGER
);
