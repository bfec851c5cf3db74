-- Token and user life cycle (issue 13). API tokens get a name-independent
-- public id (a prefix of their hash: it reveals nothing of the secret), an
-- expiry and a record of who revoked them and when. Tokens issued before
-- this migration expire 90 days after they were created.
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMP;
ALTER TABLE api_tokens ADD COLUMN revoked_at TIMESTAMP;
ALTER TABLE api_tokens ADD COLUMN revoked_by VARCHAR;
UPDATE api_tokens SET expires_at = created_at + INTERVAL 90 DAY;
UPDATE api_tokens SET revoked_at = created_at WHERE revoked;

-- Overdue escalation: one row per case and deadline, so the scheduler
-- records the overdue event once per deadline however often it runs.
CREATE TABLE case_overdue (
    case_id    VARCHAR NOT NULL,
    due_at     TIMESTAMP NOT NULL,
    noticed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (case_id, due_at)
);

-- Secrets the server generates once and keeps (e.g. the key of the stable
-- pseudonyms reviewers see instead of card numbers and person ids).
CREATE TABLE server_secrets (
    name  VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

-- Who uploaded each batch through the server: a user of some districts
-- sees the batches whose rows are in their districts and the ones they
-- uploaded themselves (a refused batch stores no row to place it).
CREATE TABLE batch_uploads (
    batch_id    VARCHAR NOT NULL,
    user_id     VARCHAR NOT NULL,
    uploaded_at TIMESTAMP NOT NULL
);
