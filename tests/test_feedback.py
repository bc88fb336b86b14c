"""Feedback pages (issue 20): one student's answer cannot block a course's feedback, a
real leak withholds only its page, and the pages render offline.

- Unit tests of grader.leaks (no kernel): which hidden lines are secrets, how a page is
  read, when a page leaks.
- A throw-away course (a small fixture notebook with maths) graded in the sandbox (in a
  plain kernel where there is none: every submission is benign code written here), with
  students who write the marker text, paste the visible test cell, guess a hidden line,
  get a gradient wrong, raise an exception with a very long message, and one whose
  autograded notebook is tampered with after grading so that its page really shows a
  hidden line (as if the hidden region had escaped StripHiddenTests). `python -m grader feedback`
  must withhold that page only, write all the others and exit non-zero because of it.
- One feedback page opened in headless Chromium with the network cut off: rendered
  maths, and the long check message wrapped inside the viewport.
"""
import json
from pathlib import Path

import nbformat
import pytest

import system_deps
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from browser_support import REPO, launch_offline_browser, math_report, raw_latex
from grader import cli, leaks, pipeline
from grading_support import (
    FIXTURE_ASSIGNMENT,
    FIXTURE_NAME,
    edited,
    fixture_source,
    grade,
    make_course,
    release_nb,
    solved,
    submit,
)

ARTEFACTS = REPO / "build" / "browser"
NB_ID = Path(FIXTURE_NAME).stem
HIDDEN_SIGMOID = 'check("sigmoid", sigmoid, hidden=True)'
HIDDEN_L2 = 'check("l2_penalty", l2_penalty, hidden=True)'
MARKER = "### BEGIN HIDDEN TESTS"
VISIBLE_CELL = 'from checker import check\ncheck("sigmoid", sigmoid)'
LONG_WORDS = "this message goes on " * 60
LONG_TOKEN = "x" * 700


# ---------------------------------------------------------------------------------------
# grader.leaks, no kernel

def _nb(*sources, kinds=None):
    nb = new_notebook()
    for i, src in enumerate(sources):
        kind = (kinds or {}).get(i, "code")
        make = new_code_cell if kind == "code" else new_markdown_cell
        nb.cells.append(make(src, metadata={"nbgrader": {"grade_id": f"c{i}", "grade": True,
                                                         "solution": False, "locked": True,
                                                         "points": 1, "schema_version": 3}}))
    return nb


SOURCE = _nb(
    "from checker import check\ncheck(\"f\", f)\n### BEGIN HIDDEN TESTS\n"
    "\n"
    "from checker import check\n"        # visible in the release: public
    "check(\"f\", f)\n"                          # identical to the visible call: public
    ")\n"                                       # too short to tell anything
    "check(\"f\", f, hidden=True)\n"
    "    assert   abs(f(710.0) - 1.0) < 1e-12   # the overflow edge case\n"
    "### END HIDDEN TESTS\n"
    "print('after the region')",
    "### BEGIN HIDDEN TESTS\ncheck(\"g\", g, hidden=True)",          # unterminated region
)
RELEASE = _nb("from checker import check\ncheck(\"f\", f)\nprint('after the region')", "")


def test_secret_lines_are_the_distinctive_hidden_lines():
    secrets = leaks.secret_lines(SOURCE, RELEASE)
    assert [s.text for s in secrets] == [
        'check("f", f, hidden=True)',
        "assert   abs(f(710.0) - 1.0) < 1e-12   # the overflow edge case",
        'check("g", g, hidden=True)']
    assert [(s.cell, s.number) for s in secrets] == [("c0", 8), ("c0", 9), ("c1", 2)]
    # without a release: the source minus its hidden regions stands for it
    assert [s.text for s in leaks.secret_lines(SOURCE)] == [s.text for s in secrets]


def test_markers_and_visible_lines_are_never_secrets():
    source = _nb(VISIBLE_CELL + "\n" + MARKER + "\n" + 'check("sigmoid", sigmoid)\n'
                 + "### END HIDDEN TESTS")
    assert leaks.secret_lines(source, _nb(VISIBLE_CELL)) == []


def test_page_text_joins_highlighted_code_and_decodes_entities():
    page = ('<html><head><style>p{}</style></head><body><pre><span class="n">check</span>'
            '<span class="p">(</span><span class="s2">&quot;f&quot;</span><span class="p">,'
            '</span> <span class="n">f</span>, <span class="n">hidden</span>=<span class="kc">'
            'True</span>)</pre><img src="data:image/png;base64,Y2hlY2so" alt="a picture">'
            '<!-- assert abs(f(710.0) - 1.0) < 1e-12 --></body></html>')
    text = leaks.squeeze(leaks.page_text(page))
    assert leaks.squeeze('check("f", f, hidden=True)') in text
    assert leaks.squeeze("assert abs(f(710.0) - 1.0) < 1e-12") in text     # a comment
    assert "apicture" in text and "base64" not in text


def _page(body):
    return f"<html><body><div class='cell'>{body}</div></body></html>"


def test_a_page_leaks_only_what_the_submission_does_not_contain(tmp_path):
    secrets = leaks.secret_lines(SOURCE, RELEASE)
    page = _page("<pre>check(&quot;f&quot;, f, hidden=True)</pre><p>### BEGIN HIDDEN TESTS</p>")
    sub = tmp_path / "sub.ipynb"
    nbformat.write(_nb("def f(x):\n    return x  # nothing of the hidden tests here"), sub)
    found = leaks.check_page(page, secrets, leaks.submission_text(sub))
    assert found.withhold and [s.text for s in found.leaked] == ['check("f", f, hidden=True)']
    assert "c0 line 8" in found.reason() and 'check("f", f, hidden=True)' in found.reason()
    assert any("does not contain" in n for n in found.notes())      # the marker, not ours
    # the same page for a student who wrote that line (and the marker) in an answer
    nbformat.write(_nb("# I bet the hidden test is\n#   check('f', f, hidden=True)",
                       'Maybe:\n\n    check("f", f, hidden=True)\n\n### BEGIN HIDDEN TESTS',
                       kinds={1: "markdown"}), sub)
    found = leaks.check_page(page, secrets, leaks.submission_text(sub))
    assert not found.withhold and [s.text for s in found.known] == ['check("f", f, hidden=True)']
    assert any("written by the student" in n for n in found.notes())


def test_submission_text_reads_outputs_and_survives_bad_files(tmp_path):
    nb = _nb("print(1)")
    nb.cells[0].outputs = [nbformat.v4.new_output(
        "error", ename="AssertionError", evalue="no",
        traceback=["\x1b[0;31m----> 1\x1b[0m assert   abs(f(710.0) - 1.0) < 1e-12"])]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    assert leaks.squeeze("assert abs(f(710.0) - 1.0) < 1e-12") in leaks.submission_text(path)
    (tmp_path / "bad.ipynb").write_text("{not json", encoding="utf-8")
    assert leaks.submission_text(tmp_path / "bad.ipynb") == ""
    assert leaks.submission_text(tmp_path / "missing.ipynb") == ""


def test_a_page_without_its_source_notebook_is_withheld(tmp_path):
    page = tmp_path / "feedback.html"
    page.write_text(_page("<p>fine</p>"), encoding="utf-8")
    found = leaks.CourseSecrets(tmp_path).check("s1", "01_missing", page)
    assert found.withhold and "solutions/01_missing/feedback.ipynb" in found.reason()


def test_the_real_notebooks_have_secrets_and_their_releases_show_none():
    """Each hidden check(..., hidden=True) line of the pack is a secret; no release page
    text contains one."""
    root = pipeline.REPO_ROOT
    for source in pipeline.source_notebooks(root):
        assignment, notebook = source.parent.name, source.stem
        secrets = leaks.CourseSecrets(root).get(assignment, notebook)
        hidden = [c for c in nbformat.read(source, as_version=4).cells
                  if leaks.hidden_regions(c.source)]
        assert len(secrets) == len(hidden), (source, secrets)
        assert all("hidden=True" in s.text for s in secrets)
        release = (root / "notebooks" / assignment / f"{notebook}.ipynb").read_text()
        assert not [s for s in secrets if s.key in leaks.squeeze(release)]


# ---------------------------------------------------------------------------------------
# A graded course

def feedback_source():
    """The fixture notebook with a Markdown cell of maths (for the offline check)."""
    nb = fixture_source()
    maths = new_markdown_cell(
        "The derivative of the sigmoid:\n\n"
        "$$\\sigma'(z) = \\frac{e^{-z}}{(1 + e^{-z})^2} = \\sigma(z)\\,\\big(1 - \\sigma(z)\\big)"
        " \\le \\tfrac14,$$\n\nso $\\frac{\\partial L}{\\partial z} = p - t$ for one example.",
        metadata={"nbgrader": {"grade": False, "solution": False, "locked": True,
                               "grade_id": "maths", "schema_version": 3}})
    nb.cells.insert(1, maths)
    return nb


STUDENTS = {
    "honest": lambda good: good,
    # the marker text in a written answer and in a comment of a code answer
    "marker": lambda good: edited(edited(good, "answer-quarter", lambda s: (
        s + f"\n\n{MARKER}\nI know the hidden tests start here.\n### END HIDDEN TESTS")),
        "sigmoid-solution", lambda s: f"# {MARKER}\n" + s),
    # the visible test cell pasted into a written answer
    "copier": lambda good: edited(good, "answer-quarter",
                                 lambda s: s + f"\n\n```python\n{VISIBLE_CELL}\n```"),
    # the hidden call guessed and written down: nothing new to learn from the page
    "guesser": lambda good: edited(good, "answer-quarter",
                                  lambda s: s + f"\n\nThe hidden test must be `{HIDDEN_SIGMOID}`."),
    # a very long check message (words, then one unbroken token)
    "longmsg": lambda good: edited(good, "sigmoid-solution", lambda s: s + (
        f"\n\ndef sigmoid(z):\n    raise ValueError({LONG_WORDS!r} + {LONG_TOKEN!r})")),
    # a wrong gradient: the hidden check's verdict shows expected and obtained values of
    # the hidden cases, which is feedback, not a leak
    "wrong": lambda good: edited(good, "l2_penalty-solution", lambda s: s + (
        "\n\ndef l2_penalty(w, lam):\n    return 0.5 * lam * np.sum(w ** 2), 2 * lam * w")),
    # graded honestly; its autograded notebook is tampered with below
    "leaky": lambda good: good,
}


def _leak_into_autograded(root, student):
    """Put a hidden line outside the markers of a test cell of the graded notebook, as a
    broken StripHiddenTests (or restore) would leave it: the page will show it."""
    path = root / "autograded" / student / FIXTURE_ASSIGNMENT / FIXTURE_NAME
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test-l2_penalty")
    cell.source = HIDDEN_L2 + "\n" + cell.source
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("feedback-course"),
                       fixtures={FIXTURE_ASSIGNMENT: {FIXTURE_NAME: feedback_source()}})
    good = solved(release_nb(root, FIXTURE_ASSIGNMENT, FIXTURE_NAME), feedback_source())
    for student, build in STUDENTS.items():
        submit(root, student, FIXTURE_ASSIGNMENT, FIXTURE_NAME, build(good))
    # benign code written here (no attack): graded without the sandbox where it is missing
    grade(root, jobs=2, cell_timeout=60, timeout=300, trusted=True)
    _leak_into_autograded(root, "leaky")
    return root


@pytest.fixture(scope="module")
def ran(course):
    """`python -m grader feedback` over the whole course: (exit code, stdout, stderr)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["--root", str(course), "feedback"])
    return code, out.getvalue(), err.getvalue()


def _page_of(root, student):
    return root / "feedback" / student / FIXTURE_ASSIGNMENT / f"{NB_ID}.html"


def _report(root):
    return json.loads((root / "build" / "grading" / "feedback.json").read_text())


def test_only_the_leaking_page_is_withheld(course, ran):
    code, out, err = ran
    assert code != 0, out + err
    assert "leaky" in err and "withheld" in err and HIDDEN_L2 in err
    for other in set(STUDENTS) - {"leaky"}:
        assert other not in err, err
        assert _page_of(course, other).is_file(), f"{other} got no feedback"
    assert not _page_of(course, "leaky").exists()
    held = course / "build" / "grading" / "withheld" / "leaky" / FIXTURE_ASSIGNMENT
    shown = leaks.squeeze(leaks.page_text((held / f"{NB_ID}.html").read_text(encoding="utf-8")))
    assert leaks.squeeze(HIDDEN_L2) in shown
    assert "test-l2_penalty" in (held / f"{NB_ID}.reason.txt").read_text()
    report = _report(course)
    assert [w["student"] for w in report["withheld"]] == ["leaky"]
    assert len(report["written"]) == len(STUDENTS) - 1 and not report["failures"]
    assert not (course / "build" / "grading" / "feedback-staging").exists()


def test_no_written_page_shows_a_hidden_test(course, ran):
    for student in set(STUDENTS) - {"leaky", "guesser"}:
        page = _page_of(course, student).read_text(encoding="utf-8")
        text = leaks.squeeze(leaks.page_text(page))
        assert leaks.squeeze(HIDDEN_SIGMOID) not in text and leaks.squeeze(HIDDEN_L2) not in text
        assert "hidden check: sigmoid" in page or student == "longmsg"


def test_hidden_check_verdicts_are_feedback_not_leaks(course, ran):
    page = _page_of(course, "wrong").read_text(encoding="utf-8")
    assert "hidden check: l2_penalty: case 1 of" in page and "hidden check: sigmoid" in page
    assert not [n for n in _report(course)["notes"] if n.startswith("wrong/")]


def test_marker_text_gets_normal_feedback_and_a_note(course, ran):
    page = _page_of(course, "marker").read_text(encoding="utf-8")
    assert "BEGIN HIDDEN TESTS" in page and "I know the hidden tests start here" in page
    assert "hidden check: sigmoid" in page and "passed" in page
    notes = [n for n in _report(course)["notes"] if n.startswith("marker/")]
    assert notes and all("written by the student" in n for n in notes), notes


def test_pasted_visible_test_cell_is_not_a_leak(course, ran):
    shown = leaks.squeeze(leaks.page_text(_page_of(course, "copier").read_text(encoding="utf-8")))
    assert leaks.squeeze(VISIBLE_CELL) in shown
    assert not [n for n in _report(course)["notes"] if n.startswith("copier/")]


def test_a_guessed_hidden_line_is_noted_not_withheld(course, ran):
    assert _page_of(course, "guesser").is_file()
    notes = [n for n in _report(course)["notes"] if n.startswith("guesser/")]
    assert notes and "already contains" in notes[0] and "test-sigmoid" in notes[0], notes


def test_without_the_leak_the_command_succeeds(course, ran):
    written = pipeline.feedback(course, students=["honest", "marker"], log=lambda *_: None)
    assert sorted(p.parts[-3] for p in written) == ["honest", "marker"]
    assert _report(course)["withheld"] == []


def test_a_clean_regrade_releases_a_withheld_page(course, ran, tmp_path):
    """Once the cause is gone, the next run writes the page and drops the withheld copy."""
    path = course / "autograded" / "leaky" / FIXTURE_ASSIGNMENT / FIXTURE_NAME
    saved = path.read_text(encoding="utf-8")
    nb = nbformat.reads(saved, as_version=4)
    for cell in nb.cells:
        cell.source = cell.source.replace(HIDDEN_L2 + "\n", "", 1) \
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "test-l2_penalty" else cell.source
    nbformat.write(nb, path)
    try:
        written = pipeline.feedback(course, students=["leaky"], log=lambda *_: None)
        assert written == [_page_of(course, "leaky")]
        assert not (course / "build" / "grading" / "withheld" / "leaky").exists()
    finally:
        path.write_text(saved, encoding="utf-8")


# ---------------------------------------------------------------------------------------
# A feedback page offline in a real browser

@pytest.fixture(scope="module")
def offline_browser(tmp_path_factory):
    sync_playwright = system_deps.require_browser()
    with sync_playwright() as p:
        context, blocked = launch_offline_browser(p, tmp_path_factory.mktemp("chromium-feedback"),
                                                  viewport={"width": 900, "height": 900})
        try:
            yield context, blocked
        finally:
            context.close()


_JS_LONG_MESSAGE = """(needle) => {
  // the check messages: outputs of the test cells (not the code that raised)
  const pres = Array.from(document.querySelectorAll('div.output_area pre'))
                    .filter(p => p.textContent.includes(needle));
  return {found: pres.length, viewport: window.innerWidth,
          page: document.documentElement.scrollWidth,
          boxes: pres.map(p => { const r = p.getBoundingClientRect();
                                 return {left: r.left, right: r.right, width: r.width,
                                         scroll: p.scrollWidth, client: p.clientWidth,
                                         height: r.height}; })};
}"""


@pytest.mark.timeout(120)
def test_feedback_page_offline_maths_and_wrapped_message(course, ran, offline_browser, tmp_path):
    import shutil

    page_path = tmp_path / "mailed-feedback.html"          # the page alone, elsewhere
    shutil.copy(_page_of(course, "longmsg"), page_path)
    html = page_path.read_text(encoding="utf-8")
    assert "sigmoid raised ValueError" in html and LONG_TOKEN in html
    context, blocked = offline_browser
    blocked.clear()
    page = context.new_page()
    try:
        page.goto(page_path.as_uri(), wait_until="load")
        page.wait_for_timeout(300)
        maths = math_report(page, "div.text_cell_render")
        long = page.evaluate(_JS_LONG_MESSAGE, "this message goes on this message goes on")
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTEFACTS / "offline-feedback.png"), full_page=True)
    finally:
        page.close()
    assert maths["count"] >= 2 and maths["empty"] == 0 and maths["display"] >= 1
    assert maths["fractions"] >= 2 and maths["flat_fractions"] == 0
    assert not maths["mathjax"] and not raw_latex(maths["text"]), maths["text"][:500]
    assert not [u for u in blocked if "mathjax" in u.lower()], blocked
    # the test cell's verdict reports the long message (the visible and the hidden check
    # in one output; the demo cell after the last test, which raised it once more, is not
    # run when grading: grader/grading_cells.py)
    assert long["found"] >= 1, long
    for box in long["boxes"]:
        assert box["right"] <= long["viewport"] + 1 and box["width"] <= long["viewport"], long
        assert box["scroll"] <= box["client"] + 1, f"the message overflows its box: {long}"
        assert box["height"] > 100, f"a long message in one line? {long}"
    assert long["page"] <= long["viewport"] + 1, f"the page scrolls sideways: {long}"
