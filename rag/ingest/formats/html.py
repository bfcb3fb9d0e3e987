"""HTML pages saved from government sites: the article's text only.

A saved portal page is mostly menus, banners, link lists, search boxes and footers. The main text
is found the way readability tools do it, by general rules: drop elements that never hold content
(script, nav, header, footer, form…), then take the element whose paragraphs hold the most text
with the fewest links. Each block element becomes its own line; table rows become one line each.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from ...errors import InputError
from ...vi.legacy_encoding import to_unicode
from ...vi.syllables import marked_share
from ...vi.text import squash_spaces
from .base import RawFile
from .pdf import _MIN_MARKED_SHARE, text_layer_problem

_DROP_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe",
              "svg", "button", "select", "input", "template")
_DROP_HINT_RE = re.compile(r"(^|[\s_-])(menu|nav|navbar|breadcrumb|sidebar|footer|header|banner|"
                           r"share|social|comment|related|tags?|search|login|advert|ads|popup|"
                           r"cookie)([\s_-]|$)", re.IGNORECASE)
_BLOCK_TAGS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "table", "section",
               "article", "blockquote", "pre", "dd", "dt", "ul", "ol", "main", "td", "th"}


def _drop_noise(root) -> None:
    for el in list(root.iter(*_DROP_TAGS)):
        el.drop_tree()
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None:
            continue
        hint = " ".join(filter(None, [el.get("id"), el.get("class"), el.get("role")]))
        if hint and _DROP_HINT_RE.search(hint) and el.tag not in ("body", "html", "main", "article"):
            el.drop_tree()


def _score(el) -> float:
    """Text in paragraphs, minus text in links: high for an article body, low for menus."""
    text = len(el.text_content())
    links = sum(len(a.text_content()) for a in el.iter("a"))
    paras = sum(1 for _ in el.iter("p"))
    return (text - 2 * links) * (1 + min(paras, 30) / 10)


def _main_element(root):
    for tag in ("article", "main"):
        found = [e for e in root.iter(tag) if len(e.text_content().strip()) > 200]
        if found:
            return max(found, key=_score)
    candidates = [e for e in root.iter("div", "section", "td", "body") if len(e.text_content()) > 200]
    if not candidates:
        return root
    best = max(candidates, key=_score)
    # prefer the parent when the best block is one of several sibling paragraphs' holders
    parent = best.getparent()
    if parent is not None and _score(parent) > 1.3 * _score(best):
        return parent
    return best


def _lines(el) -> list[str]:
    """Visible text, one line per block element; table rows as 'cell | cell'."""
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        line = squash_spaces("".join(buf))
        if line:
            out.append(line)
        buf.clear()

    def walk(node) -> None:
        if not isinstance(node.tag, str):
            if node.tail:
                buf.append(node.tail)
            return
        if node.tag == "tr":
            flush()
            cells = [squash_spaces(c.text_content()) for c in node if c.tag in ("td", "th")]
            row = " | ".join(c for c in cells if c)
            if row:
                out.append(row)
        else:
            block = node.tag in _BLOCK_TAGS
            if block:
                flush()
            if node.text:
                buf.append(node.text)
            for child in node:
                walk(child)
            if block:
                flush()
        if node.tail:
            buf.append(node.tail)

    walk(el)
    flush()
    return out


def html_to_text(data: bytes | str) -> tuple[str, str]:
    """(title, main text) of an HTML page."""
    import lxml.html

    root = lxml.html.document_fromstring(data)
    title = (root.findtext(".//title") or "").strip()
    _drop_noise(root)
    return title, "\n".join(_lines(_main_element(root)))


_MAX_CONTROL_SHARE = 0.01


def is_garbage(text: str) -> bool:
    """Bytes that never were a page (random data, a binary file renamed .html) decode to control
    characters and to accented letters that make no Vietnamese syllable. The check is the PDF
    text-layer one (`text_layer_problem`), except that a text without any marks is not called
    garbage here: an English page is a real page."""
    visible = [ch for ch in text if not ch.isspace()]
    if not visible:
        return False
    control = sum(unicodedata.category(ch) in {"Cc", "Co", "Cn"} or ch == "\ufffd" for ch in visible)
    if control / len(visible) > _MAX_CONTROL_SHARE:
        return True
    return text_layer_problem(text) == "garbage text" and marked_share(text) >= _MIN_MARKED_SHARE


def read(path: Path) -> RawFile:
    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"Tệp rỗng / empty file: {path}")
    try:  # UTF-8 unless the page says otherwise; lxml alone would guess Latin-1
        page: bytes | str = re.sub(r"^\s*<\?xml[^>]*\?>", "", data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        page = data  # lxml reads the <meta charset> itself
    try:
        _title, text = html_to_text(page)
    except Exception as e:  # lxml raises assorted errors on broken markup
        raise InputError(f"HTML không đọc được / unreadable HTML: {path} ({type(e).__name__})") from None
    if not text.strip():
        raise InputError(f"Trang HTML không có nội dung chính / no main text in HTML page: {path}")
    conv = to_unicode(text)
    if is_garbage(conv.text):
        raise InputError(f"Tệp .html không chứa văn bản đọc được (dữ liệu nhị phân hoặc sai mã) / "
                         f"no readable text, binary or mis-encoded data: {path}")
    return RawFile(path, [conv.text], False, encoding=conv.encoding, extractor="lxml")
