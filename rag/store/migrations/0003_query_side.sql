-- What a question reads besides the passages, kept up to date by every write so that no process
-- has to load the whole corpus (#13): each document's abbreviation definitions, the
-- diacritic-restoration vocabulary as counts of accented spellings per folded 1-3 word gram
-- (rag.vi.vocab.gram_counts, summed over documents), and passages found by their chunk id.
-- Numbered 0003: 0002 is the collections migration of #14.
ALTER TABLE documents ADD COLUMN abbreviations jsonb NOT NULL DEFAULT '{}';

CREATE TABLE vocab_grams (
    gram  text NOT NULL,              -- folded words
    form  text NOT NULL,              -- one accented spelling of them
    n     bigint NOT NULL,            -- occurrences in the corpus's passages
    first bigint NOT NULL,            -- (document seq << 20) + rank among the gram's spellings there:
                                      -- first-seen order, which breaks ties as the local vocabulary does
    PRIMARY KEY (gram, form)
);

CREATE INDEX chunks_chunk_id ON chunks (chunk_id);

-- BM25 without reading every posting of a common term: each posting keeps its passage's length
-- and its term-frequency part of the score at write time (`impact`), so a search reads the
-- best LEXICAL_DEPTH postings of each query term (rag/store/postgres.py) — every posting while
-- a term is in fewer passages than that, which is then the exact score — and the passages'
-- counts per term live in term_df instead of being counted per question.
ALTER TABLE postings ADD COLUMN dl int, ADD COLUMN impact real;
UPDATE postings p SET dl = c.n_terms FROM chunks c WHERE c.id = p.chunk;
UPDATE postings SET impact = tf / (tf + 1.5 * (1 - 0.75 + 0.75 * dl
    / (SELECT greatest(n_terms::float8 / greatest(n_chunks, 1), 1) FROM corpus_stats WHERE id = 1)));
ALTER TABLE postings ALTER COLUMN dl SET NOT NULL, ALTER COLUMN impact SET NOT NULL;
CREATE INDEX postings_impact ON postings (term, impact DESC);

CREATE TABLE term_df (
    term text PRIMARY KEY,
    df   bigint NOT NULL               -- passages holding the term (0 once they are all removed)
);
INSERT INTO term_df SELECT term, count(*) FROM postings GROUP BY term;
