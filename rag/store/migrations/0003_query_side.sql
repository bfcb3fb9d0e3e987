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
