-- People who use the service, their sessions and API tokens. Secrets are
-- stored only as hashes: passwords with argon2id, session and API tokens
-- with SHA-256 (they are random 256-bit values).
CREATE TABLE users (
    user_id       VARCHAR PRIMARY KEY,
    display_name  VARCHAR NOT NULL,
    password_hash VARCHAR NOT NULL,
    role          VARCHAR NOT NULL,   -- auditor | reviewer | supervisor | admin
    districts     VARCHAR NOT NULL,   -- comma-separated 6-digit region codes the user may see; '*' = all
    expert_id     VARCHAR,            -- for reviewers: their entry in experts
    created_at    TIMESTAMP NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE sessions (
    token_hash VARCHAR PRIMARY KEY,
    user_id    VARCHAR NOT NULL,
    csrf       VARCHAR NOT NULL,      -- per-session token every state-changing form carries
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    token_hash VARCHAR PRIMARY KEY,
    user_id    VARCHAR NOT NULL,
    label      VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT false
);

-- Failed logins, for rate limiting (by user name and by client address).
CREATE TABLE login_failures (
    user_id VARCHAR NOT NULL,
    client  VARCHAR NOT NULL,
    failed_at TIMESTAMP NOT NULL
);
