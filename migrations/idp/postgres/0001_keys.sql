-- Gosid's own key material (package keys).

-- Data keys encrypt secrets at rest; each is stored wrapped (AES-256-GCM)
-- under the master key, with the data key's id as associated data.
-- master_key_id is the master key's fingerprint, so that a wrong master key
-- is recognised before anything is written. UNIQUE (seq) is the
-- compare-and-swap that lets only one of several replicas starting at once
-- create the first data key (the newest seq encrypts new secrets).
CREATE TABLE data_keys (
    id            TEXT PRIMARY KEY,
    seq           INTEGER NOT NULL UNIQUE,
    master_key_id TEXT NOT NULL,
    wrapped       BYTEA NOT NULL,
    created_at    BIGINT NOT NULL
);

-- Token-signing keys. Each algorithm has its own chain of keys numbered by
-- seq; UNIQUE (alg, seq) is the compare-and-swap that lets only one of
-- several racing replicas add the next key. kid is the RFC 7638 thumbprint of
-- the public key. private_enc is the PKCS#8 private key sealed with
-- AES-256-GCM under data_key_id, kid as associated data; it is set to NULL
-- once the key can never sign again (retired or withdrawn). Times are Unix
-- microseconds; a key signs from signs_from until its successor's signs_from.
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    public_der   BYTEA NOT NULL,
    private_enc  BYTEA,
    data_key_id  TEXT NOT NULL REFERENCES data_keys (id),
    created_at   BIGINT NOT NULL,
    signs_from   BIGINT NOT NULL,
    withdrawn_at BIGINT,
    UNIQUE (alg, seq)
);
