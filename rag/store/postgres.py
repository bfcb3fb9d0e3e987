"""The store in PostgreSQL with pgvector: many processes and machines share one corpus.

Tables (migrations/*.sql, applied in order and recorded in `schema_migrations`): documents,
chunks (the passage as JSON, its folded BM25 terms and length, a `vector(dim)` with an HNSW cosine
index) and a BM25 posting list. Lexical search computes the same BM25 as the local store (bm25s'
"lucene" scoring over `bm25_terms`) inside the database, so rankings agree. Every write is one
transaction that also bumps `corpus_stats.version` and sends NOTIFY `rag_store`: a killed writer
leaves the previous state, and readers learn of a change by one small query.

With a read replica (`read_url`, a streaming hot standby of the same database) the searches, the
snapshot and the version go there and the writes and the document list stay on the primary.
NOTIFY does not cross to a replica, so `wait_for_change` polls its version row instead; and a
process that has just written waits (a few seconds at most) until the replica has replayed its
write before it reads, so it never answers from a state older than its own write.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources

import numpy as np

from ..errors import IndexStateError, InputError
from ..types import Chunk, SearchFilter
from ..vi.abbreviations import learn as learn_abbreviations
from ..vi.vocab import gram_counts
from .base import BM25_B, BM25_K1, Scored, Snapshot
from .index import DocumentRecord, bm25_corpus_tokens

log = logging.getLogger(__name__)

URL_SCHEMES = ("postgresql://", "postgres://")
NOTIFY_CHANNEL = "rag_store"
#: HNSW candidates per search; pgvector's default (40) loses recall at k=20+ candidates
EF_SEARCH = 200
#: postings read per query term, best `impact` first: BM25 is exact while every term of a question
#: is in at most this many passages (any seed-sized corpus), else the passages that hold it most
#: strongly are the ones scored (impact-ordered pruning, as search engines do)
LEXICAL_DEPTH = 1000
#: indexes `PostgresStore.bulk` builds after the load instead of row by row
DEFERRED_INDEXES = ("chunks_embedding", "postings_top")
#: memory and parallel workers for building them (HNSW is built in memory when it fits)
BULK_MAINTENANCE_MEM, BULK_WORKERS = "1GB", 2
#: seconds a process that wrote waits for the replica to replay its write before reading anyway
REPLICA_CATCH_UP = 10.0
#: how often `wait_for_change` reads a replica's version row (NOTIFY does not reach replicas)
REPLICA_POLL = 0.1
_MIGRATION = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")


def is_url(value: str) -> bool:
    return value.startswith(URL_SCHEMES)


def shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def _connect(url: str, what: tuple[str, str] = ("PostgreSQL", "")):
    """An autocommit connection, or one bilingual line saying which server (Vietnamese, English)
    could not be reached."""
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise IndexStateError(f"Không kết nối được {what[0]} / cannot connect to {what[1]}{shown_url(url)}: "
                              f"{first}") from None


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _json_dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _copy_text(value: str) -> str:
    """A value for COPY's text format (backslash, tab and line breaks escaped)."""
    return value.translate(_COPY_ESCAPES)


def _version(conn) -> int:
    return int(conn.execute("SELECT version FROM corpus_stats WHERE id = 1").fetchone()[0])


def _record(raw: dict, collection: str) -> DocumentRecord:
    """A document's record, its collection from the `collection` column (what searches filter
    on, issue #14) rather than the JSON copy."""
    rec = DocumentRecord.from_json(raw)
    rec.collection = collection
    return rec


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, SQL) of every migration file, in order."""
    folder = resources.files(__package__) / "migrations"
    found = [(int(m.group(1)), f.name, f.read_text(encoding="utf-8"))
             for f in folder.iterdir() if (m := _MIGRATION.fullmatch(f.name))]
    return sorted(found)


@dataclass
class PreparedWrite:
    """Documents for `PostgresStore.put_documents` with their server-independent parts computed."""

    items: list[tuple[str, DocumentRecord, list[Chunk], np.ndarray]]
    terms: list[list[list[str]]]  # per document, per passage: BM25 terms
    learned: list[str]  # per document: its abbreviations, as JSON
    grams: list[dict[str, Counter]]  # per document: vocabulary counts


class PostgresStore:
    """`rag.store.base.Store` in one PostgreSQL database. The schema is created on first use for
    `model_id` and `dim`; a store made for another embedding model is refused."""

    def __init__(self, url: str, model_id: str, dim: int, read_url: str = "") -> None:
        try:
            import psycopg  # noqa: F401
            from pgvector.psycopg import register_vector
        except ImportError:
            raise InputError("Thiếu thư viện PostgreSQL / PostgreSQL client missing: "
                             "pip install 'hoi-dap-cds[postgres]'") from None
        self.url, self.read_url, self.model_id, self.dim = url, read_url, model_id, dim
        self._conn = _connect(url)
        self._lock = threading.Lock()  # one connection, used by one thread at a time
        self._written = 0  # the version of this process's last write (what a replica must reach)
        self._migrate()
        self._restore_indexes()
        register_vector(self._conn)
        self._check_model()
        if read_url:
            self._read = _connect(read_url, ("bản sao đọc", "the read replica "))
            self._read_lock = threading.Lock()
            self._await_replica_schema()
            register_vector(self._read)
        else:
            self._read, self._read_lock = self._conn, self._lock
        self.set_ef_search(EF_SEARCH)

    def set_ef_search(self, ef: int) -> None:
        """HNSW candidates per search on the connections searches use (a session setting)."""
        for conn in {id(c): c for c in (self._conn, self._read)}.values():
            conn.execute(f"SET hnsw.ef_search = {int(ef)}")

    def close(self) -> None:
        if self._read is not self._conn:
            self._read.close()
        self._conn.close()

    @contextmanager
    def _reading(self) -> Iterator:
        """The connection searches read from, locked; on a replica, first caught up with this
        process's own last write."""
        with self._read_lock:
            if self._read is not self._conn and self._written:
                deadline = time.monotonic() + REPLICA_CATCH_UP
                while _version(self._read) < self._written:
                    if time.monotonic() > deadline:
                        log.warning("read replica %s is behind the primary by more than %.0f s",
                                    shown_url(self.read_url), REPLICA_CATCH_UP)
                        break
                    time.sleep(0.02)
                else:
                    self._written = 0
            yield self._read

    def _await_replica_schema(self) -> None:
        """A replica created with the primary (or before its first start) gets the schema a moment
        after the primary applied it: wait for it, and refuse a URL that is no replica of it."""
        want = self.schema_version()
        deadline = time.monotonic() + REPLICA_CATCH_UP
        while True:
            got = self._read.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0] and \
                self._read.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
            if got and got >= want:
                break
            if time.monotonic() > deadline:
                raise IndexStateError(
                    f"Bản sao đọc {shown_url(self.read_url)} chưa có lược đồ của kho chính / the read replica "
                    f"lacks the primary's schema (version {want}) after {REPLICA_CATCH_UP:.0f} s: is it a "
                    f"streaming replica of {shown_url(self.url)}?")
            time.sleep(0.1)
        meta = dict(self._read.execute("SELECT key, value FROM store_meta").fetchall())
        if meta.get("model_id") != self.model_id:
            raise IndexStateError(f"Bản sao đọc {shown_url(self.read_url)} giữ kho của mô hình khác / the read "
                                  f"replica holds a store of '{meta.get('model_id')}', not '{self.model_id}'")

    # ------------------------------------------------------------------ schema

    def _migrate(self) -> None:
        """Apply the migrations not yet recorded, each in its own transaction; an advisory lock
        makes concurrent first starts take turns."""
        conn = self._conn
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('rag_store_migrations'))")
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, "
                         "name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())")
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            for number, name, sql in migrations():
                if number in done:
                    continue
                conn.execute(sql.replace("{dim}", str(int(self.dim))))
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (number, name))
                if number == 1:
                    conn.execute("INSERT INTO store_meta VALUES ('model_id', %s), ('dim', %s)",
                                 (self.model_id, str(self.dim)))
                if number == 3:
                    self._backfill_query_side()
                log.info("PostgreSQL store: applied migration %s", name)

    def _backfill_query_side(self) -> None:
        """Migration 3 on a store that already holds documents: their vocabulary counts and
        abbreviations, computed as a write would have (inside the migration's transaction)."""
        docs = self._conn.execute("SELECT doc_id, seq FROM documents ORDER BY seq").fetchall()
        for doc_id, seq in docs:
            texts = [t for (t,) in self._conn.execute(
                "SELECT chunk->>'text' FROM chunks WHERE doc_id = %s ORDER BY ord", (doc_id,))]
            self._conn.execute("UPDATE documents SET abbreviations = %s WHERE doc_id = %s",
                               (json.dumps(learn_abbreviations(texts), ensure_ascii=False), doc_id))
            self._add_grams([(g, f, n, (seq << 20) + min(rank, (1 << 20) - 1)) for g, forms in
                             gram_counts(texts).items() for rank, (f, n) in enumerate(forms.items())])

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """For a large load (a first `rag index` of many documents): the HNSW graph and the
        impact-ordered postings index are dropped while the documents are written (each group
        still its own transaction) and built once at the end, in parallel with a large
        `maintenance_work_mem` — far faster than maintaining them row by row. Searches meanwhile
        are exact, only slower. Each dropped index's definition is kept in `store_meta` in the
        transaction that drops it: if this process dies before the end, the next PostgresStore
        opened on the database builds them again (`_restore_indexes`), so a crash loses no
        committed document and leaves no index missing for long."""
        with self._lock, self._conn.transaction():
            for name in DEFERRED_INDEXES:
                found = self._conn.execute("SELECT pg_get_indexdef(to_regclass(%s))", [name]).fetchone()[0]
                if found:
                    self._conn.execute("INSERT INTO store_meta VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                                       [f"deferred_index:{name}", found])
                    self._conn.execute(f"DROP INDEX {name}")
        try:
            yield
        finally:  # a load that fails midway still leaves its committed groups searchable fast
            self._restore_indexes()

    def _restore_indexes(self) -> None:
        """Build the indexes a bulk load deferred (see `bulk`), each in its own transaction."""
        deferred = self._conn.execute("SELECT key, value FROM store_meta WHERE key LIKE 'deferred_index:%%' "
                                      "ORDER BY key").fetchall()
        for key, definition in deferred:
            with self._lock, self._conn.transaction():
                if not self._conn.execute("SELECT 1 FROM store_meta WHERE key = %s FOR UPDATE", [key]).fetchone():
                    continue  # another process built it meanwhile
                t0 = time.perf_counter()
                self._conn.execute(f"SET LOCAL maintenance_work_mem = '{BULK_MAINTENANCE_MEM}'")
                self._conn.execute(f"SET LOCAL max_parallel_maintenance_workers = {BULK_WORKERS}")
                self._conn.execute(definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
                self._conn.execute("DELETE FROM store_meta WHERE key = %s", [key])
                log.info("PostgreSQL store: built index %s in %.0f s", key.split(":", 1)[1],
                         time.perf_counter() - t0)

    def _check_model(self) -> None:
        meta = dict(self._conn.execute("SELECT key, value FROM store_meta").fetchall())
        if meta.get("model_id") != self.model_id or meta.get("dim") != str(self.dim):
            raise IndexStateError(
                f"Kho PostgreSQL được tạo cho mô hình khác / the store at {shown_url(self.url)} holds "
                f"vectors of '{meta.get('model_id')}' ({meta.get('dim')} dims), not '{self.model_id}' "
                f"({self.dim}): dùng cơ sở dữ liệu khác / use another database")

    def schema_version(self) -> int:
        return int(self._conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0])

    # ------------------------------------------------------------------ writing

    def put_document(self, doc_id: str, record: DocumentRecord, chunks: Sequence[Chunk],
                     vectors: np.ndarray) -> None:
        self.put_documents([(doc_id, record, chunks, vectors)])

    def prepare(self, items: Sequence[tuple[str, DocumentRecord, Sequence[Chunk], np.ndarray]]) -> PreparedWrite:
        """What `put_documents` computes before it talks to the server (BM25 terms, abbreviations,
        vocabulary counts: ~9 s per 1,000 passages of pure Python). Needs no connection, so a
        loader can prepare the next group in a thread while the server writes this one."""
        items = [(d, r, list(c), np.asarray(v, dtype=np.float32).reshape(len(c), self.dim))
                 for d, r, c, v in items]
        if len({d for d, *_ in items}) < len(items):
            raise ValueError("a document appears twice in one write")
        texts = [[c.text for c in chunks] for _, _, chunks, _ in items]
        return PreparedWrite(items, [bm25_corpus_tokens(c) for _, _, c, _ in items],
                             [json.dumps(learn_abbreviations(t), ensure_ascii=False) for t in texts],
                             [gram_counts(t) for t in texts])

    def put_documents(self, items: Sequence[tuple[str, DocumentRecord, Sequence[Chunk], np.ndarray]] | PreparedWrite
                      ) -> None:
        """Add or replace several documents in one transaction: one COPY of their passages, one of
        their postings and one upsert of their vocabulary and term counts, instead of a round of
        statements per document (a bulk `rag index` writes a group of ~1,000 passages at once).
        `items` may come from `prepare`."""
        ready = items if isinstance(items, PreparedWrite) else self.prepare(items)
        items, terms, learned, grams = ready.items, ready.terms, ready.learned, ready.grams
        if not items:
            return
        n_new = sum(len(c) for _, _, c, _ in items)
        n_new_terms = sum(len(toks) for doc in terms for toks in doc)
        from psycopg.types.json import Jsonb

        with self._lock, self._conn.transaction():
            conn = self._conn
            conn.execute("SELECT 1 FROM corpus_stats WHERE id = 1 FOR UPDATE")
            for (old,) in conn.execute("SELECT doc_id FROM documents WHERE doc_id = ANY(%s) ORDER BY seq",
                                       [[d for d, *_ in items]]).fetchall():
                self._drop_chunks(old)
            n_now, terms_now = conn.execute("SELECT n_chunks, n_terms FROM corpus_stats WHERE id = 1").fetchone()
            avgdl = max(1.0, (terms_now + n_new_terms) / max(1, n_now + n_new))
            seqs = dict(conn.execute(
                "INSERT INTO documents (doc_id, record, date, collection, abbreviations) "
                "SELECT * FROM unnest(%s::text[], %s::jsonb[], %s::text[], %s::text[], %s::jsonb[]) "
                "ON CONFLICT (doc_id) DO UPDATE SET record = excluded.record, date = excluded.date, "
                "collection = excluded.collection, abbreviations = excluded.abbreviations RETURNING doc_id, seq",
                [[d for d, *_ in items], [json.dumps(r.to_json(), ensure_ascii=False) for _, r, _, _ in items],
                 [r.date for _, r, _, _ in items], [r.collection for _, r, _, _ in items], learned]).fetchall())
            self._add_grams([(g, f, n, (seqs[doc_id] << 20) + min(rank, (1 << 20) - 1))
                             for (doc_id, *_), counts in zip(items, grams) for g, forms in counts.items()
                             for rank, (f, n) in enumerate(forms.items())])
            row_ids = sorted(i for (i,) in conn.execute(
                "SELECT nextval('chunks_id_seq') FROM generate_series(1, %s)", [n_new]).fetchall())
            df: Counter = Counter()
            with conn.cursor() as cur:
                at = 0
                with cur.copy("COPY chunks (id, doc_id, ord, chunk_id, chunk, folded, n_terms, date, embedding) "
                              "FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(["int8", "text", "int4", "text", "jsonb", "text", "int4", "text", "vector"])
                    for (doc_id, _, chunks, vectors), toks_of in zip(items, terms):
                        for ord_, (c, toks, vec) in enumerate(zip(chunks, toks_of, vectors)):
                            copy.write_row((row_ids[at], doc_id, ord_, c.chunk_id,
                                            Jsonb(c.to_dict(), dumps=_json_dumps), " ".join(toks),
                                            len(toks), c.date, vec))
                            at += 1
                lines: list[str] = []  # COPY text rows written as one block: write_row per posting is slow
                for row_id, toks in zip(row_ids, (toks for toks_of in terms for toks in toks_of)):
                    norm = BM25_K1 * (1 - BM25_B + BM25_B * len(toks) / avgdl)
                    for t, n in Counter(toks).items():
                        lines.append(f"{_copy_text(t)}\t{row_id}\t{n}\t{len(toks)}\t{n / (n + norm)!r}\n")
                        df[t] += 1
                with cur.copy("COPY postings (term, chunk, tf, dl, impact) FROM STDIN") as copy:
                    copy.write("".join(lines))
            self._add_df(df)
            conn.execute("UPDATE corpus_stats SET n_chunks = n_chunks + %s, n_terms = n_terms + %s, "
                         "version = version + 1 WHERE id = 1", (n_new, n_new_terms))
            self._notify()
        self._written = _version(self._conn)

    def delete_document(self, doc_id: str) -> bool:
        with self._lock, self._conn.transaction():
            self._conn.execute("SELECT 1 FROM corpus_stats WHERE id = 1 FOR UPDATE")
            self._drop_chunks(doc_id)
            gone = self._conn.execute("DELETE FROM documents WHERE doc_id = %s", (doc_id,)).rowcount
            if gone:
                self._conn.execute("UPDATE corpus_stats SET version = version + 1 WHERE id = 1")
                self._notify()
        if gone:
            self._written = _version(self._conn)
        return bool(gone)

    def _drop_chunks(self, doc_id: str) -> None:
        """Inside a write transaction: remove the document's passages (their postings cascade)
        and take them out of the corpus counts BM25 and the vocabulary use."""
        self._conn.execute("UPDATE term_df t SET df = t.df - d.n FROM (SELECT p.term, count(*) AS n FROM postings p "
                           "JOIN chunks c ON c.id = p.chunk WHERE c.doc_id = %s GROUP BY p.term) d "
                           "WHERE t.term = d.term", (doc_id,))
        rows = self._conn.execute("DELETE FROM chunks WHERE doc_id = %s RETURNING n_terms, chunk->>'text'",
                                  (doc_id,)).fetchall()
        if rows:
            self._conn.execute("UPDATE corpus_stats SET n_chunks = n_chunks - %s, n_terms = n_terms - %s "
                               "WHERE id = 1", (len(rows), sum(r[0] for r in rows)))
            self._drop_grams(gram_counts(r[1] for r in rows))

    def _add_grams(self, rows: list[tuple[str, str, int, int]]) -> None:
        """Add spelling counts (gram, form, count, first; a pair may repeat across documents) to
        the vocabulary: COPY into a per-connection scratch table (far cheaper than binding
        thousands of array elements), then one upsert of their sums."""
        conn = self._conn
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS grams_in (gram text, form text, n bigint, first bigint) "
                     "ON COMMIT DELETE ROWS")
        with conn.cursor() as cur, cur.copy("COPY grams_in FROM STDIN") as copy:
            copy.write("".join(f"{_copy_text(g)}\t{_copy_text(f)}\t{n}\t{first}\n" for g, f, n, first in rows))
        conn.execute("INSERT INTO vocab_grams SELECT gram, form, sum(n), min(first) FROM grams_in GROUP BY gram, form "
                     "ON CONFLICT (gram, form) DO UPDATE "
                     "SET n = vocab_grams.n + excluded.n, first = least(vocab_grams.first, excluded.first)")
        conn.execute("TRUNCATE grams_in")

    def _add_df(self, df: Counter) -> None:
        """Count the new passages in term_df (COPY, then one upsert)."""
        conn = self._conn
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS df_in (term text, n bigint) ON COMMIT DELETE ROWS")
        with conn.cursor() as cur, cur.copy("COPY df_in FROM STDIN") as copy:
            for t, n in df.items():
                copy.write_row((t, n))
        conn.execute("INSERT INTO term_df SELECT * FROM df_in ON CONFLICT (term) DO UPDATE "
                     "SET df = term_df.df + excluded.df")
        conn.execute("TRUNCATE df_in")

    def _drop_grams(self, counts: dict[str, Counter]) -> None:
        """Take a removed document's spelling counts out; spellings left with none go."""
        rows = [(g, f, n) for g, forms in counts.items() for f, n in forms.items()]
        if rows:
            cols = [list(col) for col in zip(*rows)]
            self._conn.execute("UPDATE vocab_grams v SET n = v.n - d.n FROM unnest(%s::text[], %s::text[], "
                               "%s::bigint[]) AS d(gram, form, n) WHERE v.gram = d.gram AND v.form = d.form", cols)
            self._conn.execute("DELETE FROM vocab_grams v USING unnest(%s::text[], %s::text[]) AS d(gram, form) "
                               "WHERE v.gram = d.gram AND v.form = d.form AND v.n <= 0", cols[:2])

    def _notify(self) -> None:
        self._conn.execute("SELECT pg_notify(%s, (SELECT version::text FROM corpus_stats WHERE id = 1))",
                           (NOTIFY_CHANNEL,))

    # ------------------------------------------------------------------ reading

    def documents(self) -> dict[str, DocumentRecord]:
        with self._lock:
            rows = self._conn.execute("SELECT doc_id, record, collection FROM documents ORDER BY seq").fetchall()
        return {d: _record(r, c) for d, r, c in rows}

    def version(self) -> str:
        with self._reading() as conn:
            return str(_version(conn))

    def wait_for_change(self, since: str, timeout: float) -> str | None:
        """Block until a write commits a version other than `since` or `timeout` seconds pass;
        returns the new version, or None. On the primary the writer's NOTIFY (sent at commit)
        wakes it; listening starts before the version is read, so a write between the two is not
        missed. A replica gets no NOTIFY: its version row is read every REPLICA_POLL seconds."""
        import psycopg

        replica = self._read is not self._conn
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.read_url or self.url, autocommit=True, connect_timeout=10) as conn:
            if not replica:
                conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            while True:
                now = str(_version(conn))
                if now != since:
                    return now
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                if not replica:
                    for note in conn.notifies(timeout=left, stop_after=1):
                        return note.payload
                    return None
                time.sleep(min(REPLICA_POLL, left))

    @staticmethod
    def _where(flt: SearchFilter | None, alias: str = "c") -> tuple[str, list]:
        if flt is None:
            return "TRUE", []
        parts, args = ["TRUE"], []
        if flt.doc_ids is not None:
            parts.append(f"{alias}.doc_id = ANY(%s)")
            args.append(sorted(flt.doc_ids))
        if flt.date_from:
            parts.append(f"{alias}.date >= %s")
            args.append(flt.date_from)
        if flt.date_to:
            parts.append(f"{alias}.date <= %s")
            args.append(flt.date_to)
        if flt.collections is not None:
            parts.append(f"{alias}.doc_id IN (SELECT doc_id FROM documents WHERE collection = ANY(%s))")
            args.append(sorted(flt.collections))
        return " AND ".join(parts), args

    def dense_top(self, query: np.ndarray, k: int, flt: SearchFilter | None = None) -> list[Scored]:
        """HNSW search; with a filter pgvector's iterative scan keeps reading the graph until k
        passages pass it (or the graph is exhausted)."""
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        where, args = self._where(flt)
        with self._reading() as conn, conn.transaction():
            if flt is not None:
                conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            rows = conn.execute(
                f"SELECT chunk, 1 - (embedding <=> %s) AS score, id FROM chunks c WHERE {where} "
                "ORDER BY embedding <=> %s LIMIT %s", [q, *args, q, int(k)]).fetchall()
        hits = [Scored(Chunk(**c), float(s), i) for c, s, i in rows]
        return sorted(hits, key=lambda h: -h.score)  # relaxed order: re-sort the few returned

    def lexical_top(self, terms: Sequence[str], k: int, flt: SearchFilter | None = None) -> list[Scored]:
        """BM25 over the best LEXICAL_DEPTH postings of each term (by `impact`, within the
        filter): exact while no term is in more passages than that. The top `k` are cut before
        their passages are read (else the planner fetched every scored passage's row: 100 ms of
        a 130 ms query at 100k passages)."""
        terms = list(terms)
        if not terms:
            return []
        where, args = self._where(flt)
        within = (f"JOIN chunks c ON c.id = p.chunk WHERE p.term = w.term AND {where}" if flt
                  else "WHERE p.term = w.term")
        sql = f"""
            WITH s AS (SELECT n_chunks::float8 AS n, n_terms::float8 / greatest(n_chunks, 1) AS avgdl
                       FROM corpus_stats WHERE id = 1),
                 q AS (SELECT term, count(*)::float8 AS qtf FROM unnest(%s::text[]) AS term GROUP BY term),
                 w AS (SELECT q.term, q.qtf * ln(1 + (s.n - t.df + 0.5) / (t.df + 0.5)) AS idf
                       FROM q JOIN term_df t ON t.term = q.term CROSS JOIN s WHERE t.df > 0),
                 h AS (SELECT p.chunk, sum(w.idf * p.tf / (p.tf + %s * (1 - %s + %s * p.dl / s.avgdl))) AS score
                       FROM w CROSS JOIN s CROSS JOIN LATERAL (
                           SELECT p.chunk, p.tf, p.dl FROM postings p {within}
                           ORDER BY p.impact DESC LIMIT %s) p
                       GROUP BY p.chunk),
                 top AS (SELECT chunk, score FROM h ORDER BY score DESC, chunk LIMIT %s)
            SELECT c.chunk, top.score, c.id FROM top JOIN chunks c ON c.id = top.chunk
            ORDER BY top.score DESC, c.id"""
        with self._reading() as conn:
            rows = conn.execute(sql, [terms, BM25_K1, BM25_B, BM25_B, *args, LEXICAL_DEPTH, int(k)]).fetchall()
        return [Scored(Chunk(**c), float(s), i) for c, s, i in rows if s > 0]

    # ------------------------------------------------------------------ reading in place (search/, #13)
    # What a question needs besides the top passages, asked of the database instead of a corpus
    # loaded into memory: scores of a few named passages, their neighbours and documents, term
    # frequencies, the vocabulary's counts for the question's words, the learned abbreviations.

    def passage_scores(self, ids: Sequence[int], terms: Sequence[str], query: np.ndarray
                       ) -> dict[int, tuple[float, float]]:
        """row id → (BM25 for `terms`, cosine to `query`) of the given passages (the fusion needs
        both scores of every candidate, and each retriever's top list gives only its own)."""
        if not ids:
            return {}
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        sql = """
            WITH s AS (SELECT n_chunks::float8 AS n, n_terms::float8 / greatest(n_chunks, 1) AS avgdl
                       FROM corpus_stats WHERE id = 1),
                 q AS (SELECT term, count(*)::float8 AS qtf FROM unnest(%s::text[]) AS term GROUP BY term),
                 w AS (SELECT q.term, q.qtf * ln(1 + (s.n - t.df + 0.5) / (t.df + 0.5)) AS idf
                       FROM q JOIN term_df t ON t.term = q.term CROSS JOIN s WHERE t.df > 0),
                 bm AS (SELECT p.chunk, sum(w.idf * p.tf / (p.tf + %s * (1 - %s + %s * p.dl / s.avgdl))) AS score
                        FROM w JOIN postings p ON p.term = w.term CROSS JOIN s
                        WHERE p.chunk = ANY(%s::bigint[]) GROUP BY p.chunk)
            SELECT c.id, coalesce(bm.score, 0), 1 - (c.embedding <=> %s)
            FROM chunks c LEFT JOIN bm ON bm.chunk = c.id WHERE c.id = ANY(%s::bigint[])"""
        ids = [int(i) for i in ids]
        terms = list(terms)
        with self._reading() as conn:
            rows = conn.execute(sql, [terms, BM25_K1, BM25_B, BM25_B, ids, q, ids]).fetchall()
        return {i: (float(b), float(d)) for i, b, d in rows}

    def previous_texts(self, chunks: Sequence[Chunk]) -> dict[str, str]:
        """chunk id → the text of the passage before it in its document (none for a first one)."""
        if not chunks:
            return {}
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT c.chunk_id, p.chunk->>'text' FROM chunks c JOIN chunks p "
                "ON p.doc_id = c.doc_id AND p.ord = c.ord - 1 "
                "WHERE (c.doc_id, c.chunk_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
                [[c.doc_id for c in chunks], [c.chunk_id for c in chunks]]).fetchall()
        return dict(rows)

    def document_texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """doc id → its first passage's title and every passage, one per line, in order."""
        if not doc_ids:
            return {}
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT doc_id, (array_agg(chunk->>'title' ORDER BY ord))[1] || E'\\n' "
                "|| string_agg(chunk->>'text', E'\\n' ORDER BY ord) FROM chunks "
                "WHERE doc_id = ANY(%s) GROUP BY doc_id", [list(doc_ids)]).fetchall()
        return dict(rows)

    def term_frequencies(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """The number of passages, and for each of `terms` found, how many passages hold it."""
        with self._reading() as conn:
            n = int(conn.execute("SELECT n_chunks FROM corpus_stats WHERE id = 1").fetchone()[0])
            rows = conn.execute("SELECT term, df FROM term_df WHERE term = ANY(%s) AND df > 0",
                                [sorted(set(terms))]).fetchall() if terms else []
        return n, {t: int(d) for t, d in rows}

    def vocabulary_counts(self, grams: Sequence[str]) -> dict[str, dict[str, int]]:
        """folded gram → {accented spelling: count} for the given grams, spellings in the order
        the corpus first used them."""
        out: dict[str, dict[str, int]] = {}
        if not grams:
            return out
        with self._reading() as conn:
            for g, f, n in conn.execute("SELECT gram, form, n FROM vocab_grams WHERE gram = ANY(%s) "
                                        "ORDER BY gram, first", [sorted(set(grams))]):
                out.setdefault(g, {})[f] = int(n)
        return out

    def abbreviations(self) -> dict[str, str]:
        """The abbreviations the documents define; the first document to define one wins, as
        when they are learned from the passages in order."""
        found: dict[str, str] = {}
        with self._reading() as conn:
            for (learned,) in conn.execute("SELECT abbreviations FROM documents ORDER BY seq"):
                for abbr, full in learned.items():
                    found.setdefault(abbr, full)
        return found

    def chunks(self) -> list[Chunk]:
        """Every passage in document order (for callers that list them all: the eval's articles);
        a question never needs this."""
        with self._reading() as conn:
            rows = conn.execute("SELECT c.chunk FROM chunks c JOIN documents d USING (doc_id) "
                                "ORDER BY d.seq, c.ord").fetchall()
        return [Chunk(**c) for (c,) in rows]

    def chunk_ids(self) -> set[str]:
        with self._reading() as conn:
            return {i for (i,) in conn.execute("SELECT chunk_id FROM chunks")}

    def snapshot(self) -> Snapshot:
        with self._reading() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            version = str(_version(conn))
            docs = conn.execute("SELECT doc_id, record, collection FROM documents ORDER BY seq").fetchall()
            rows = conn.execute("SELECT c.chunk, c.embedding FROM chunks c JOIN documents d USING (doc_id) "
                                      "ORDER BY d.seq, c.ord").fetchall()
        vectors = (np.stack([np.asarray(v.to_numpy(), dtype=np.float32) for _, v in rows]) if rows
                   else np.zeros((0, self.dim), dtype=np.float32))
        return Snapshot(version, self.model_id, {d: _record(r, c) for d, r, c in docs},
                        [Chunk(**c) for c, _ in rows], vectors)
