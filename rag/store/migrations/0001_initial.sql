-- Documents, their passages with vectors (HNSW, cosine) and a BM25 posting list over the same
-- folded terms as the local store (rag.vi.text.bm25_terms), so both rank lexical matches alike.
-- {dim} is the embedding dimension, fixed when the store is created.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE store_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE documents (
    seq    bigserial UNIQUE,          -- first-added order, kept when a document is replaced
    doc_id text PRIMARY KEY,
    record jsonb NOT NULL,            -- rag.store.index.DocumentRecord
    date   text                       -- ISO date, for filters
);

CREATE TABLE chunks (
    id        bigserial PRIMARY KEY,
    doc_id    text NOT NULL REFERENCES documents (doc_id) ON DELETE CASCADE,
    ord       int NOT NULL,           -- position within its document
    chunk_id  text NOT NULL,
    chunk     jsonb NOT NULL,         -- rag.types.Chunk: text, offsets, page, legal metadata
    folded    text NOT NULL,          -- the BM25 terms, space separated (accent-folded)
    n_terms   int NOT NULL,           -- BM25 document length
    date      text,
    embedding vector({dim}) NOT NULL,
    UNIQUE (doc_id, ord)
);
CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_cosine_ops);
CREATE INDEX chunks_date ON chunks (date);

CREATE TABLE postings (
    term  text NOT NULL,
    chunk bigint NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
    tf    int NOT NULL,
    PRIMARY KEY (term, chunk)
);
CREATE INDEX postings_chunk ON postings (chunk);

-- one row: corpus size for BM25 and the version readers poll; writers lock it, so they queue
CREATE TABLE corpus_stats (
    id       int PRIMARY KEY CHECK (id = 1),
    n_chunks bigint NOT NULL,
    n_terms  bigint NOT NULL,
    version  bigint NOT NULL
);
INSERT INTO corpus_stats VALUES (1, 0, 0, 0);
