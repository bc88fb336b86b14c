"""Cross-student similarity of each assignment's submissions, for the tutor to look at.

:func:`report` takes every submission of an assignment (``submitted/<student>/<a>/``),
rebuilds it on the release (``grader.preprocessors.rebuild_from_release``) and keeps the
student's own code (``grader.flags.student_cells``: solution cells and cells they added,
never the release's cells). The fingerprinting and comparison are copydetect's (winnowed
k-gram fingerprints of the tokenised code, names abstracted, so renaming and reformatting
do not hide a copy); the release's code cells are its boilerplate, so the stubs and given
code everyone shares do not count. Pairs whose similarity (copydetect's share of one
file's fingerprints found in the other, the larger of the two) reaches ``threshold`` are
listed.

Written to ``build/grading/similarity/<assignment>/``: ``similarity.json`` (the pairs,
the threshold, the students compared), copydetect's ``report.html`` (the pairs with the
shared code highlighted) and ``code/<student>.py`` (what was compared). Nothing of the
students' code runs. ``python -m grader similarity`` (``make similarity``) writes it for
every assignment; ``python -m grader autograde`` does it for the assignments it graded
and lists the pairs in its report.
"""
import json
import os
import re
import shutil
import warnings
from pathlib import Path

import nbformat

from grader import flags as static_flags
from grader.preprocessors import rebuild_from_release

#: Default similarity from which a pair is listed.
THRESHOLD = 0.5
#: copydetect's k-gram length (noise threshold) and guarantee threshold, in characters of
#: tokenised code: shorter matches are noise, longer ones are always found. The noise
#: threshold is below copydetect's default (25): the exercises are short functions.
NOISE = 20
GUARANTEE = 25


def output_dir(root, assignment):
    """build/grading/similarity/<assignment>/ under the course root."""
    return Path(root) / "build" / "grading" / "similarity" / assignment


def _safe_name(student):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", student) or "_"


def student_code(submission, release):
    """The student's own code cells of one notebook (parsed JSON, possibly malformed) as
    Python text, each cell headed by a comment naming it; "" when there is none."""
    nb, _ = rebuild_from_release(submission, release)
    given = {c.source.strip() for c in release.cells if c.get("cell_type") == "code"}
    parts = []
    for label, source in static_flags.student_cells(nb, release):
        if source.strip() and source.strip() not in given:     # not a stub left as it was
            parts.append(f"# --- {label}\n{source.rstrip()}\n")
    return "\n".join(parts)


def _release_code(release):
    return "\n\n".join(c.source for c in release.cells if c.get("cell_type") == "code")


def collect(root, assignment):
    """{student: their code of ``assignment``} over submitted/*/<assignment>/*.ipynb
    (notebooks in file-name order), with the release notebooks' code as the boilerplate:
    returns (codes, boilerplate text)."""
    root = Path(root)
    releases = {p.name: nbformat.read(p, as_version=4)
                for p in sorted((root / "notebooks" / assignment).glob("*.ipynb"))}
    codes = {}
    for folder in sorted((root / "submitted").glob(f"*/{assignment}")):
        student = folder.parent.name
        parts = []
        for name, release in releases.items():
            path = folder / name
            if not path.is_file():
                continue
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue                            # unreadable: graded 0 elsewhere
            code = student_code(raw, release)
            if code:
                parts.append(f"# === {name}\n{code}")
        if parts:
            codes[student] = "\n".join(parts)
    return codes, "\n\n".join(_release_code(r) for r in releases.values())


def _headless_matplotlib():
    """copydetect draws its report's figures with pyplot: with Agg, unless this process
    has chosen a backend already. Chosen here, not through $MPLBACKEND: a variable set in
    this process would reach every kernel it starts later (no inline figures there)."""
    import sys

    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")


def compare(codes, boilerplate, workdir, threshold=THRESHOLD):
    """Run copydetect on ``codes`` ({student: code}) in ``workdir`` (code/ and
    boilerplate/ are written there, report.html too); returns the listed pairs, sorted
    from the most similar: [{"students": [a, b], "similarity": s, "similarity_each":
    [share of a found in b, share of b found in a], "tokens": shared tokens}]."""
    _headless_matplotlib()
    from copydetect import CopyDetector

    workdir = Path(workdir)
    code_dir, boiler_dir = workdir / "code", workdir / "boilerplate"
    for folder in (code_dir, boiler_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    files = {}
    for student, code in codes.items():
        path = code_dir / f"{_safe_name(student)}.py"
        path.write_text(code, encoding="utf-8")
        files[str(path)] = student
    (boiler_dir / "release.py").write_text(boilerplate, encoding="utf-8")
    if len(files) < 2:
        return []
    detector = CopyDetector(test_dirs=[str(code_dir)], ref_dirs=[str(code_dir)],
                            boilerplate_dirs=[str(boiler_dir)], extensions=["py"],
                            noise_t=NOISE, guarantee_t=GUARANTEE, display_t=threshold,
                            autoopen=False, silent=True, out_file=str(workdir / "report.html"))
    detector.run()
    pairs = {}
    for test_sim, ref_sim, test_f, ref_f, _, _, overlap in detector.get_copied_code_list():
        a, b = files[test_f], files[ref_f]
        key = tuple(sorted((a, b)))
        share = {a: float(test_sim), b: float(ref_sim)}
        entry = {"students": list(key), "similarity": round(max(share.values()), 4),
                 "similarity_each": [round(share[key[0]], 4), round(share[key[1]], 4)],
                 "tokens": int(overlap)}
        if key not in pairs or entry["similarity"] > pairs[key]["similarity"]:
            pairs[key] = entry
    with warnings.catch_warnings():     # copydetect 0.5 reads its template the old way
        warnings.simplefilter("ignore", DeprecationWarning)
        detector.generate_html_report()
    return sorted(pairs.values(), key=lambda p: (-p["similarity"], p["students"]))


def report(root, assignment, threshold=THRESHOLD):
    """Compare every submission of ``assignment`` and write similarity.json and
    report.html under :func:`output_dir`; returns the JSON dict (``pairs``, ``threshold``,
    ``students``, ``html``: the HTML report's path or None when fewer than two students
    submitted code)."""
    if not 0 < threshold <= 1:
        raise ValueError(f"the similarity threshold must be in (0, 1], got {threshold!r}")
    codes, boilerplate = collect(root, assignment)
    out = output_dir(root, assignment)
    out.mkdir(parents=True, exist_ok=True)
    pairs = compare(codes, boilerplate, out, threshold)
    html = out / "report.html"
    data = {"assignment": assignment, "threshold": threshold, "students": sorted(codes),
            "pairs": pairs, "html": str(html) if html.is_file() and len(codes) >= 2 else None,
            "tool": "copydetect"}
    tmp = out / "similarity.json.tmp"
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out / "similarity.json")
    return data


def format_text(data):
    """Lines for the terminal: the pairs above the threshold of one assignment."""
    head = (f"similarity {data['assignment']}: {len(data['students'])} submission(s) compared, "
            f"{len(data['pairs'])} pair(s) at or above {data['threshold']:.0%}")
    lines = [head]
    for pair in data["pairs"]:
        a, b = pair["students"]
        lines.append(f"      {a} ~ {b}: {pair['similarity']:.0%} ({pair['tokens']} tokens)")
    if data.get("html"):
        lines.append(f"      report: {data['html']}")
    return "\n".join(lines)
