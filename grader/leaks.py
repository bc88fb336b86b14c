"""Does a feedback page show a student something of the hidden tests they did not have?

The secrets are the hidden tests' own source lines: the lines between ``### BEGIN HIDDEN
TESTS`` and ``### END HIDDEN TESTS`` in the source notebook (solutions/<a>/<nb>.ipynb),
minus the ones that tell nothing:

- blank lines and the marker lines themselves (anyone can type the markers);
- lines with fewer than `MIN_CHARS` characters besides whitespace (``)``, ``else:``);
- lines that the release shows anyway (notebooks/<a>/<nb>.ipynb, every cell): a hidden
  ``from checker import check``, or a hidden ``check(...)`` call identical to the
  visible one, is public.

A page leaks when it shows a secret line that the student's own submission
(submitted/<student>/<a>/<nb>.ipynb, every source and output as handed in) does not
contain: the page would tell the student something new. A student who writes the
marker text, pastes the visible test cell, or guesses a hidden line and writes it in an
answer learns nothing from seeing it again: their page is not a leak (the marker text
and a known hidden line are reported as notes). A leak can come from the hidden region
escaping the feedback's StripHiddenTests, from a traceback quoting a hidden test, or
from student code that captured a hidden test while it ran and printed it later.

What the grader computes from the hidden cases reaches the page only as the trusted
verdict (``hidden check: ...``: passed, or which case failed, with expected and obtained
excerpts): that is the feedback itself, drawn from a seed that is new at every grading
run, so it is not a secret here. The check payloads (the student's outputs) are replaced
by the verdicts before any page is written.

Matching ignores whitespace (a line split over syntax-highlighting spans, re-indented or
wrapped still matches) and reads the page as text: tags removed, entities decoded,
attribute values, comments and script contents (widget state) included, ``data:`` URIs
skipped.
"""
import html
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from grader.preprocessors import BEGIN_HIDDEN, END_HIDDEN

#: A hidden line needs at least this many characters besides whitespace to be a secret.
MIN_CHARS = 8
_WS = re.compile(r"\s+")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_SEP = "\x00"        # between independent pieces of text: no match runs across it


def squeeze(text):
    """``text`` without any whitespace (the form in which lines are compared)."""
    return _WS.sub("", text)


@dataclass(frozen=True)
class HiddenLine:
    """One secret line: the test cell's grade id, its line number in the cell's source
    (1-based), the line as written (stripped) and its whitespace-free form."""
    cell: str
    number: int
    text: str
    key: str

    def where(self):
        return f"{self.cell} line {self.number}: {self.text[:80]}"


# ---------------------------------------------------------------------------------------
# Reading notebooks and pages

def _source(cell):
    src = cell.get("source", "") if isinstance(cell, dict) else ""
    return "".join(src) if isinstance(src, list) else str(src)


def _cells(nb):
    cells = nb.get("cells") if isinstance(nb, dict) else None
    return [c for c in cells if isinstance(c, dict)] if isinstance(cells, list) else []


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def hidden_regions(source):
    """``[(line number, line)]`` of the lines inside hidden-test regions of a cell's
    source (delimiter lines excluded; an unterminated region runs to the end), as
    grader.preprocessors.strip_hidden_tests reads them."""
    found, inside = [], False
    for number, line in enumerate(source.split("\n"), start=1):
        if BEGIN_HIDDEN in line:
            inside = True
        elif END_HIDDEN in line and inside:
            inside = False
        elif inside:
            found.append((number, line))
    return found


def _grade_id(cell, index):
    nbg = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell.get("metadata"), dict) else {}
    gid = nbg.get("grade_id") if isinstance(nbg, dict) else None
    return gid if isinstance(gid, str) and gid else f"cell {index}"


def secret_lines(source_nb, release_nb=None):
    """The hidden lines of ``source_nb`` (a notebook dict) that are secrets (see the module
    docstring), in order, each once. ``release_nb``: the student release; without it, the
    source with its hidden regions removed stands for what students see."""
    visible = []
    for cell in _cells(release_nb) if release_nb is not None else _cells(source_nb):
        src = _source(cell)
        if release_nb is None:
            hidden = {n for n, _ in hidden_regions(src)}
            src = "\n".join(ln for n, ln in enumerate(src.split("\n"), 1) if n not in hidden)
        visible.append(squeeze(src))
    visible = _SEP.join(visible)
    secrets, seen = [], set()
    for index, cell in enumerate(_cells(source_nb)):
        for number, line in hidden_regions(_source(cell)):
            key = squeeze(line)
            if len(key) < MIN_CHARS or not re.search(r"\w", key) or key in seen:
                continue
            if key in visible:
                continue
            seen.add(key)
            secrets.append(HiddenLine(_grade_id(cell, index), number, line.strip(), key))
    return secrets


class _TextParser(HTMLParser):
    """Collects a page's text: text nodes joined as they are (so a code line split over
    highlighting spans is whole again), plus attribute values and script/style contents
    as separate pieces."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pieces, self._text, self._raw = [], [], None

    def _flush(self):
        if self._text:
            self.pieces.append("".join(self._text))
            self._text = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._flush()
            self._raw = []
        for _, value in attrs:
            if value and not value.lstrip().lower().startswith("data:"):
                self.pieces.append(value)

    def handle_startendtag(self, tag, attrs):
        for _, value in attrs:
            if value and not value.lstrip().lower().startswith("data:"):
                self.pieces.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._raw is not None:
            raw = "".join(self._raw)
            self.pieces.append(raw)
            # widget state and other JSON: the text as a reader of the JSON would see it
            self.pieces.append(raw.replace('\\"', '"').replace("\\n", "\n").replace("\\/", "/"))
            self._raw = None

    def handle_data(self, data):
        (self._raw if self._raw is not None else self._text).append(data)

    def handle_comment(self, data):
        self.pieces.append(data)       # not shown, but in the file the student receives

    def close(self):
        super().close()
        if self._raw is not None:
            self.pieces.append("".join(self._raw))
        self._flush()


def page_text(page):
    """The text of an HTML page as pieces joined by a separator no line contains."""
    parser = _TextParser()
    parser.feed(page)
    parser.close()
    return _SEP.join(parser.pieces)


def _html_text(fragment):
    try:
        return page_text(fragment)
    except Exception:     # malformed HTML in a student's notebook: keep the raw text only
        return ""


def submission_text(path):
    """Everything the student's submitted notebook contains, as handed in: every cell's
    source and every output (streams, data of any MIME type, errors and tracebacks
    without colour codes), plus the text of its HTML and Markdown as a page shows it.
    "" when the file is missing or unreadable."""
    nb = _read_json(path)
    pieces = []
    for cell in _cells(nb):
        src = _source(cell)
        pieces.append(src)
        if cell.get("cell_type") == "markdown":
            pieces.append(html.unescape(src))
            pieces.append(_html_text(src))
        outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
        for out in outputs:
            if not isinstance(out, dict):
                continue
            for key in ("text", "ename", "evalue"):
                value = out.get(key)
                pieces.append("".join(value) if isinstance(value, list) else str(value or ""))
            tb = out.get("traceback")
            if isinstance(tb, list):
                pieces.append(_ANSI.sub("", "\n".join(str(t) for t in tb)))
            data = out.get("data") if isinstance(out.get("data"), dict) else {}
            for mime, value in data.items():
                text = "".join(value) if isinstance(value, list) else \
                    value if isinstance(value, str) else json.dumps(value)
                pieces.append(text)
                if mime in ("text/html", "text/markdown", "image/svg+xml"):
                    pieces.append(_html_text(text))
    return _SEP.join(squeeze(p) for p in pieces if p)


# ---------------------------------------------------------------------------------------
# The verdict on one page

@dataclass
class PageCheck:
    """What `check_page` found on one feedback page.

    ``leaked``: secret lines shown that the student's submission does not contain (the
    page must be withheld); ``known``: secret lines shown that the submission already
    contains (not a leak); ``marker``: the page shows the hidden-test marker text, and
    ``marker_own`` whether the submission contains it too; ``problem``: the page could
    not be checked (it is withheld too)."""
    leaked: list = field(default_factory=list)
    known: list = field(default_factory=list)
    marker: bool = False
    marker_own: bool = True
    problem: str | None = None

    @property
    def withhold(self):
        return bool(self.leaked) or self.problem is not None

    def reason(self):
        """One line saying why the page is withheld ("" when it is not)."""
        if self.problem:
            return self.problem
        if not self.leaked:
            return ""
        lines = "; ".join(s.where() for s in self.leaked[:3])
        more = f" (and {len(self.leaked) - 3} more)" if len(self.leaked) > 3 else ""
        return (f"shows {len(self.leaked)} hidden test line(s) that the submission does not "
                f"contain: {lines}{more}")

    def notes(self):
        """Things worth a look that do not withhold the page."""
        out = []
        if self.known:
            out.append(f"shows {len(self.known)} hidden test line(s) that the student's own "
                       f"submission already contains (not a leak): "
                       + "; ".join(s.where() for s in self.known[:3]))
        if self.marker:
            out.append("shows the hidden-test marker text, written by the student (not a leak)"
                       if self.marker_own else
                       "shows the hidden-test marker text, which the submission does not "
                       "contain: check that StripHiddenTests runs (no hidden line leaked)")
        return out


def check_page(page, secrets, own):
    """Check one page (HTML text) against ``secrets`` (`secret_lines`) and ``own``
    (`submission_text` of the student's submission). Returns a `PageCheck`."""
    text = squeeze(page_text(page))
    result = PageCheck()
    for secret in secrets:
        if secret.key in text:
            (result.known if secret.key in own else result.leaked).append(secret)
    markers = [squeeze(m) for m in (BEGIN_HIDDEN, END_HIDDEN)]
    result.marker = any(m in text for m in markers)
    result.marker_own = any(m in own for m in markers)
    return result


class CourseSecrets:
    """`secret_lines` per (assignment, notebook) of a course, read once each."""

    def __init__(self, root):
        self.root = Path(root)
        self._cache = {}

    def get(self, assignment, notebook):
        """The secrets of solutions/<assignment>/<notebook>.ipynb, or None if that source
        notebook cannot be read."""
        key = (assignment, notebook)
        if key not in self._cache:
            source = _read_json(self.root / "solutions" / assignment / f"{notebook}.ipynb")
            release = _read_json(self.root / "notebooks" / assignment / f"{notebook}.ipynb")
            self._cache[key] = None if source is None else secret_lines(source, release)
        return self._cache[key]

    def check(self, student, assignment, page_path):
        """Check the feedback page ``page_path`` of ``student`` (`check_page`); a page whose
        source notebook is missing cannot be checked and is withheld."""
        notebook = Path(page_path).stem
        secrets = self.get(assignment, notebook)
        if secrets is None:
            return PageCheck(problem=f"cannot check: solutions/{assignment}/{notebook}.ipynb "
                                     "is missing or unreadable")
        page = Path(page_path).read_text(encoding="utf-8", errors="replace")
        own = submission_text(self.root / "submitted" / student / assignment / f"{notebook}.ipynb")
        return check_page(page, secrets, own)


__all__ = ["CourseSecrets", "HiddenLine", "MIN_CHARS", "PageCheck", "check_page",
           "hidden_regions", "page_text", "secret_lines", "squeeze", "submission_text"]
