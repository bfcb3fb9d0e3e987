"""Old Word 97–2003 (.doc) via Debian's `antiword` (or `catdoc` when only that is installed).

Both are small command-line tools from Debian (`apt-get install antiword`), much lighter than
LibreOffice. They print the document's 8-bit characters as they are, so text typed in a legacy
Vietnamese font (TCVN3, VNI) arrives intact for conversion — including TCVN3's "ư", which is the
soft-hyphen byte.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ...errors import InputError
from ...vi.legacy_encoding import to_unicode
from .base import RawFile

_TIMEOUT_S = 120


def _commands(path: Path) -> list[tuple[str, list[str]]]:
    cmds = []
    if shutil.which("antiword"):
        cmds.append(("antiword", ["antiword", "-w", "0", "-m", "UTF-8.txt", str(path)]))
    if shutil.which("catdoc"):
        cmds.append(("catdoc", ["catdoc", "-w", "-d", "utf-8", str(path)]))
    return cmds


def read(path: Path) -> RawFile:
    cmds = _commands(path)
    if not cmds:
        raise InputError(f"Cần antiword để đọc .doc / .doc needs antiword: apt-get install antiword "
                         f"(hoặc bash install.sh --ocr), hoặc lưu lại thành .docx: {path}")
    errors = []
    for name, cmd in cmds:
        try:
            res = subprocess.run(cmd, capture_output=True, timeout=_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            errors.append(f"{name}: timeout")
            continue
        text = res.stdout.decode("utf-8", "replace")
        if res.returncode == 0 and text.strip():
            conv = to_unicode(text)
            return RawFile(path, [conv.text], False, encoding=conv.encoding, extractor=name)
        errors.append(f"{name}: {res.stderr.decode('utf-8', 'replace').strip()[:200] or 'no text'}")
    raise InputError(f"Tệp .doc không đọc được / unreadable .doc: {path} ({'; '.join(errors)})")
