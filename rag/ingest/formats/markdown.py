"""Markdown (.md): read as text, then markup that is not content removed.

Pages copied from news sites into Markdown carry escapes (`\\-`, `\\&`, `\\.`), emphasis markers,
heading hashes, link and image syntax; left in, they end up in quotes and break BM25 tokens.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...vi.legacy_encoding import to_unicode
from .base import RawFile
from .text import decode, require_text

_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!&|<>~=\"'])")
_IMAGE_RE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK_RE = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_EMPHASIS_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1|(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_RULE_RE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_QUOTE_RE = re.compile(r"^\s{0,3}>\s?")
_TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def strip_markdown(text: str) -> str:
    """Markdown source → the text a reader sees; one output line per input line."""
    out = []
    for line in text.split("\n"):
        if _RULE_RE.match(line) or _TABLE_SEP_RE.match(line):
            out.append("")
            continue
        line = _QUOTE_RE.sub("", line)
        m = _HEADING_RE.match(line)
        if m:
            line = m.group(1)
        line = _IMAGE_RE.sub(lambda m: m.group(1), line)
        line = _LINK_RE.sub(lambda m: m.group(1), line)
        line = _EMPHASIS_RE.sub(lambda m: m.group(2) or m.group(3), line)
        line = _ESCAPE_RE.sub(r"\1", line)
        if line.strip().startswith("|") and line.strip().endswith("|"):
            line = " | ".join(c.strip() for c in line.strip().strip("|").split("|"))
        out.append(line)
    return "\n".join(out)


def read(path: Path) -> RawFile:
    text = require_text(decode(path.read_bytes(), path), path)
    conv = to_unicode(text)  # before markup removal: a legacy "\xad" is a letter, not markup
    return RawFile(path, [strip_markdown(conv.text)], False, encoding=conv.encoding,
                   extractor="markdown")
