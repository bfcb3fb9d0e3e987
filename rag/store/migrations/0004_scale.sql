-- Scale (#13): fewer, better postings indexes and a denser HNSW graph.
-- * The best postings of a term are read from one covering index, (term, impact DESC) with the
--   columns BM25 needs, so a search is an index-only scan instead of a heap visit per posting.
-- * (term, chunk) as primary key was a third copy of every posting; the scores of named passages
--   (passage_scores) and deletes by passage use (chunk, term) instead. Postings are written from
--   one Counter per passage, so a pair is never repeated.
-- * HNSW with m=32, ef_construction=128 (pgvector's defaults are 16/64): recall@10 of 0.93 at
--   100k synthetic passages with the defaults, see bench/store_scale.py and the README.
ALTER TABLE postings DROP CONSTRAINT postings_pkey;
DROP INDEX postings_impact;
DROP INDEX postings_chunk;
CREATE INDEX postings_top ON postings (term, impact DESC) INCLUDE (chunk, tf, dl);
CREATE INDEX postings_chunk ON postings (chunk, term);
DROP INDEX chunks_embedding;
CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_cosine_ops) WITH (m = 32, ef_construction = 128);
