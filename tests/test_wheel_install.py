"""Installed like a service: RAG_HOME decides where data goes, and a wheel works outside the checkout.

The slow test builds the wheel, installs it (`pip install --no-deps`, not editable) into a fresh
venv and runs its `rag ask` from a directory outside the checkout, with HOME pointing at a temp dir.
So that it takes seconds and downloads nothing (no torch), the fresh venv reaches the dependencies
through a `.pth` file naming the site-packages of the interpreter running the tests; `.pth` files
*inside* that directory (the checkout's editable-install hook) are not processed, so `rag` can only
come from the wheel — which the test checks.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from rag.config import REPO_ROOT, Settings, data_home, default_corpus, in_checkout, load_settings

QUESTION = "Lào Cai tích hợp bao nhiêu dịch vụ công?"


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("RAG_") or key == "XDG_DATA_HOME":
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def test_checkout_keeps_index_and_seeds_beside_the_code(clean_env):
    assert in_checkout()
    s = Settings()
    assert s.index_dir == REPO_ROOT / "index" and s.corpus == REPO_ROOT / "seeds"


def test_rag_home_moves_the_index(clean_env, monkeypatch):
    monkeypatch.setenv("RAG_HOME", str(clean_env / "srv"))
    assert data_home() == clean_env / "srv"
    assert load_settings().index_dir == clean_env / "srv" / "index"
    # an explicit RAG_INDEX_DIR still wins over the home directory
    monkeypatch.setenv("RAG_INDEX_DIR", str(clean_env / "elsewhere"))
    assert load_settings().index_dir == clean_env / "elsewhere"


def test_installed_package_uses_the_user_data_dir_and_packaged_seeds(clean_env, monkeypatch):
    monkeypatch.setattr("rag.config.in_checkout", lambda: False)
    assert data_home() == clean_env / "home" / ".local" / "share" / "hoi-dap-cds"
    monkeypatch.setenv("XDG_DATA_HOME", str(clean_env / "xdg"))
    assert Settings().index_dir == clean_env / "xdg" / "hoi-dap-cds" / "index"
    assert default_corpus() == REPO_ROOT / "rag" / "_seeds"  # where the wheel puts seeds/


def _build_wheel(out: Path) -> Path:
    """Build from a copy of what the wheel needs, so the checkout gets no build/ or egg-info."""
    src = out / "src"
    for name in ("pyproject.toml", "setup.py", "README.md"):
        src.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, src / name)
    for name in ("rag", "seeds", "ui"):
        shutil.copytree(REPO_ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out / "dist"), str(src)], check=True, timeout=300)
    return next((out / "dist").glob("hoi_dap_cds-*.whl"))


@pytest.mark.slow
def test_wheel_in_fresh_venv_answers_outside_the_checkout(tmp_path):
    wheel = _build_wheel(tmp_path / "build")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    shared = {p for p in (*site.getsitepackages(), sysconfig.get_path("purelib"), sysconfig.get_path("platlib"))}
    (purelib / "_shared_deps.pth").write_text("\n".join(sorted(shared)) + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
                   check=True, timeout=300)

    home, work = tmp_path / "home", tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RAG_") and k not in {"PYTHONPATH", "XDG_DATA_HOME", "XDG_CACHE_HOME"}}
    env["HOME"] = str(home)
    where = subprocess.run([str(py), "-c", "import rag, rag.config as c; print(rag.__file__); print(c.in_checkout())"],
                           capture_output=True, text=True, check=True, cwd=work, env=env).stdout.split()
    assert Path(where[0]).is_relative_to(purelib) and where[1] == "False", where

    out = subprocess.run([str(venv / "bin" / "rag"), "-q", "ask", QUESTION, "--json"], capture_output=True,
                         text=True, cwd=work, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    answer = json.loads(out.stdout)
    assert answer["found"] and "1.305" in answer["answer"], answer["answer"]
    assert answer["citations"][0]["doc"].startswith("000_")  # a packaged seed document
    index = home / ".local" / "share" / "hoi-dap-cds" / "index"
    assert (index / "CURRENT").is_file()
    assert not (purelib / "index").exists() and not any((purelib / "rag").glob("index*"))
    assert list(work.iterdir()) == []  # nothing written where it was run
    assert (purelib / "rag" / "_ui" / "app.py").is_file()  # `rag ui` has its page
