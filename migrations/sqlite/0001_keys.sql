-- Gosid's own key material (package keys).

-- Data keys encrypt secrets at rest; each is stored wrapped (AES-256-GCM)
-- under the master key, with the data key's id as associated data.
CREATE TABLE data_keys (
    id            TEXT PRIMARY KEY,
    master_key_id TEXT NOT NULL,
    wrapped       BLOB NOT NULL,
    created_at    BIGINT NOT NULL
);

-- Token-signing keys. Each algorithm has its own chain of keys numbered by
-- seq; UNIQUE (alg, seq) is the compare-and-swap that lets only one of
-- several racing replicas add the next key.
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    public_der   BLOB NOT NULL,
    private_enc  BLOB,
    data_key_id  TEXT NOT NULL REFERENCES data_keys (id),
    created_at   BIGINT NOT NULL,
    signs_from   BIGINT NOT NULL,
    withdrawn_at BIGINT,
    UNIQUE (alg, seq)
);
