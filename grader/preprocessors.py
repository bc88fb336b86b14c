"""nbgrader preprocessors of the course pack; they run in the tutor's trusted process.

Wired in by nbgrader_config.py:

- ``RebuildFromRelease`` (first sanitising step): rebuilds a submission on the release's
  structure and records every deviation as a flag.
- ``GradingExecute`` (replaces nbgrader's ``Execute``): runs the notebook in the grading
  kernel with the grading environment (``COURSE_GRADING=1``, the run's
  ``COURSE_CHECK_SEED``, ``COURSE_MODE=quick``, a scratch ``COURSE_RESULTS``); a kernel
  that dies or hangs fails only the cells it could not run. The hidden checks' seeds
  (:func:`hidden_seed`, from the run's hidden key, which the kernel never sees) are
  handed to the kernel in the test cell that runs them, and only there.
- ``TrustedVerdicts`` (after execution, before ``SaveAutoGrades``): every autograded test
  cell's outputs are replaced by the verdict recomputed here from the check payloads with
  ``checker.judge.judge_payload`` (the one verdict path, which ``check`` uses in normal
  mode too); nothing the student's interpreter decided is trusted.
- ``StripHiddenTests`` (feedback): removes the hidden-test region from test cells.
- ``CheckCellMetadata`` (both steps): nbgrader's, with its metadata schema compiled once
  per process rather than checked again for every cell.

What the grader learns about a submission (flags, verdicts, the seed) is written to a
record outside the student's scratch folder, ``build/grading/records/<student>/
<assignment>/<notebook>.json``, which the report and the CSV export read.
"""
import ast
import copy
import hashlib
import hmac
import json
import os
import re
import secrets
import time
import traceback
from pathlib import Path
from queue import Empty

import nbformat
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.notebooknode import from_dict
from traitlets import Unicode
from traitlets.config import LoggingConfigurable

import jsonschema
from nbgrader import utils as nbutils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata as NbgraderCheckCellMetadata
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

from checker.judge import judge_payload
from checker.wire import GRADING_VARIABLE, PAYLOAD_MIME, SEED_VARIABLE
from grader import flags as static_flags
from grader import headstart
from grader import grading_cells, sandbox, settings

BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"
RESULTS_SCRATCH = ".coursepack-results.json"
HIDDEN_PLACEHOLDER = "# (hidden tests: not shown)"


# Seconds a gradebook connection waits for another grading process's write lock
# (SQLite); parallel autograding (--jobs N) relies on it.
GRADEBOOK_BUSY_TIMEOUT = 120


def gradebook_url(course_root):
    """SQLAlchemy URL of the course's gradebook: ``$COURSE_DB_URL`` (PostgreSQL) if set,
    else gradebook.db at the root with a generous SQLite busy timeout (grader/gradebook.py)."""
    from grader import gradebook

    return gradebook.url(course_root)


# ---------------------------------------------------------------------------------------
# Records (trusted state, outside the student's scratch folder)

def record_path(course_root, student, assignment, notebook):
    """Path of the grading record of one submitted notebook."""
    return Path(course_root) / "build" / "grading" / "records" / student / assignment / f"{notebook}.json"


def read_record(path):
    """The record at ``path`` as a dict ({} when it does not exist)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return {}


def write_record(path, record):
    """Write ``record`` (a JSON-able dict) atomically to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------
# Hidden checks

def hidden_seed(key, exercise):
    """The seed of ``exercise``'s hidden check in a grading run whose hidden key is
    ``key``: an HMAC-SHA256, so that neither the run's visible seed (which the kernel
    has) nor another exercise's hidden seed tells anything about it."""
    message = f"coursepack-hidden\0{exercise}".encode("utf-8")
    return hmac.new(str(key).encode("utf-8"), message, hashlib.sha256).hexdigest()[:32]


def hidden_seed_preamble(key, source):
    """The line GradingExecute runs at the top of a test cell: it hands the kernel the
    hidden seeds of the hidden checks written in ``source`` (None when there are none)."""
    exercises = sorted({e for e, hidden in expected_checks(source) if hidden and e})
    if not exercises:
        return None
    seeds = {exercise: hidden_seed(key, exercise) for exercise in exercises}
    return f'__import__("checker.wire").wire.receive_hidden_seeds({seeds!r})'


# ---------------------------------------------------------------------------------------
# Cell helpers

def _nbgrader_meta(cell):
    """The cell's nbgrader metadata dict, or None when absent or malformed."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    if not isinstance(meta, dict):
        return None
    nbg = meta.get("nbgrader")
    return nbg if isinstance(nbg, dict) else None


def _grade_id(cell):
    nbg = _nbgrader_meta(cell)
    if nbg is None:
        return None
    gid = nbg.get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def is_autograded_test(cell):
    """True for a locked code cell that carries points (an autograded test cell)."""
    return (
        cell.get("cell_type") == "code"
        and nbutils.is_grade(cell)
        and not nbutils.is_solution(cell)
    )


def strip_hidden_tests(source):
    """Return ``source`` with every ``BEGIN HIDDEN TESTS ... END HIDDEN TESTS`` region
    (delimiter lines included) replaced by one placeholder comment. An unterminated
    region is removed to the end of the cell."""
    lines = source.split("\n")
    kept, inside = [], False
    for line in lines:
        if BEGIN_HIDDEN in line:
            if not inside:
                kept.append(line[: len(line) - len(line.lstrip())] + HIDDEN_PLACEHOLDER)
            inside = True
        elif END_HIDDEN in line and inside:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def expected_checks(source):
    """The ``check(...)`` calls written in a test cell's source, in source order.

    Returns a list of ``(exercise, hidden)``; ``exercise`` is None when the first argument
    is not a string literal (the verdict then fails: the grader cannot know what it
    checks). Calls are found through the AST, so comments and strings do not count.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        # Test cells come from the source notebook; this is only a fallback.
        return [(m.group(1), "hidden=True" in m.group(0))
                for m in re.finditer(r"check\(\s*[\"']([^\"']+)[\"'][^\n]*", source)]
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name != "check":
            continue
        exercise = None
        if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            exercise = node.args[0].value
        hidden = False
        for kw in node.keywords:
            if kw.arg == "hidden" and isinstance(kw.value, ast.Constant):
                hidden = bool(kw.value.value)
        calls.append((node.lineno, node.col_offset, exercise, hidden))
    calls.sort()
    return [(exercise, hidden) for _, _, exercise, hidden in calls]


def _error_output(ename, message):
    return from_dict({
        "output_type": "error",
        "ename": ename,
        "evalue": message.splitlines()[0] if message else "",
        "traceback": message.splitlines() or [ename],
    })


def _stream_output(text):
    return from_dict({"output_type": "stream", "name": "stdout", "text": text.rstrip("\n") + "\n"})


# ---------------------------------------------------------------------------------------
# Structure normalisation

def _cell_kind(nbg):
    if nbg.get("solution") and nbg.get("grade"):
        return "manually graded answer"
    if nbg.get("solution"):
        return "solution cell"
    if nbg.get("grade"):
        return "test cell"
    return "locked cell"


def _as_cell(raw):
    """A NotebookNode cell built from ``raw``, or None when ``raw`` is not a usable cell."""
    if not isinstance(raw, dict) or raw.get("cell_type") not in ("code", "markdown", "raw"):
        return None
    source = raw.get("source", "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        source = "".join(source)
    if not isinstance(source, str):
        return None
    meta = raw.get("metadata")
    cell = {"cell_type": raw["cell_type"], "metadata": copy.deepcopy(meta) if isinstance(meta, dict) else {},
            "source": source}
    if isinstance(raw.get("id"), str):
        cell["id"] = raw["id"]
    if cell["cell_type"] == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    elif isinstance(raw.get("attachments"), dict):
        cell["attachments"] = copy.deepcopy(raw["attachments"])   # images pasted in Markdown
    return from_dict(cell)


def _convert_type(cell, cell_type):
    cell["cell_type"] = cell_type
    if cell_type == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    if cell_type == "code":
        cell.pop("attachments", None)


def rebuild_from_release(submission, release, full_sources=None):
    """Normalise a submitted notebook against the release's structure.

    ``submission``: the student's notebook as parsed JSON (dict/NotebookNode, possibly
    malformed); ``release``: the release NotebookNode; ``full_sources``: grade_id -> the
    source to restore for locked/test cells (the gradebook's copy, hidden tests included;
    defaults to the release source).

    Returns ``(notebook, flags)``: every graded cell of the release exactly once and in
    the release's order (the student's first copy of each, with the release's nbgrader
    metadata and cell type; test and locked cells restored to ``full_sources``; deleted
    ones restored from the release), the student's own ungraded cells kept after the
    graded cell they followed; ``flags`` lists every deviation in words.
    """
    flags = []
    release_graded = [(gid, cell) for cell in release.cells
                      if (gid := _grade_id(cell)) is not None]
    kept, student_order, anchored = _student_cells(submission, dict(release_graded), flags)
    if [gid for gid, _ in release_graded if gid in kept] != student_order:
        flags.append("graded cells were moved; put back in the release's order")
    cells = list(anchored[None])
    for gid, rcell in release_graded:
        cells.append(_restored_cell(gid, rcell, kept.get(gid), full_sources or {}, flags))
        cells.extend(anchored.get(gid, []))
    return _rebuilt_notebook(submission, release, cells), flags


def _student_cells(submission, release_by_id, flags):
    """The submission's cells sorted out: ``(kept, student_order, anchored)``, with
    ``kept`` grade id -> the student's first copy of that graded cell, ``student_order``
    the kept grade ids in the student's order, ``anchored`` grade id of the preceding kept
    graded cell (None before the first) -> the ungraded cells that follow it. Appends a
    flag for every cell that is dropped or demoted."""
    raw_cells = submission.get("cells") if isinstance(submission, dict) else None
    if not isinstance(raw_cells, list):
        flags.append("the notebook has no list of cells; rebuilt from the release")
        raw_cells = []
    kept, student_order, anchored, anchor = {}, [], {None: []}, None
    for index, raw in enumerate(raw_cells):
        cell = _as_cell(raw)
        if cell is None:
            flags.append(f"cell {index} is not a valid notebook cell; dropped")
            continue
        gid = _grade_id(cell)
        if gid is None:
            if "nbgrader" in cell.metadata:
                flags.append(f"cell {index} carries nbgrader metadata without a grade id; metadata removed")
                del cell.metadata["nbgrader"]
            anchored[anchor].append(cell)
            continue
        if gid not in release_by_id:
            flags.append(f"cell {index} claims the unknown graded id {gid!r}; kept as an ordinary cell")
            del cell.metadata["nbgrader"]
            anchored[anchor].append(cell)
            continue
        if gid in kept:
            kind = _cell_kind(_nbgrader_meta(release_by_id[gid]))
            flags.append(f"{kind} {gid!r} is duplicated (cell {index}); kept the first copy, dropped this one")
            continue
        kept[gid] = cell
        student_order.append(gid)
        anchor = gid
        anchored.setdefault(gid, [])
    return kept, student_order, anchored


def _restored_cell(gid, rcell, cell, full_sources, flags):
    """The graded cell ``gid`` as it is graded: the student's ``cell`` (None when deleted)
    with the release cell ``rcell``'s type and nbgrader metadata, and for test and
    locked cells the source of ``full_sources`` (else the release's). Appends a flag for
    every difference it puts right."""
    rmeta = _nbgrader_meta(rcell)
    kind = _cell_kind(rmeta)
    restore_source = not rmeta.get("solution")
    if cell is None:
        flags.append(f"{kind} {gid!r} was deleted; restored from the release")
        cell = from_dict(copy.deepcopy(dict(rcell)))
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    else:
        if cell.cell_type != rcell.cell_type:
            flags.append(f"{kind} {gid!r} was changed from {rcell.cell_type} to {cell.cell_type}; changed back")
            _convert_type(cell, rcell.cell_type)
        smeta = _nbgrader_meta(cell)
        changed = sorted(k for k in ("grade", "solution", "locked", "points", "task")
                         if smeta.get(k) != rmeta.get(k))
        if changed:
            flags.append(f"{kind} {gid!r}: nbgrader metadata changed ({', '.join(changed)}); restored")
        if restore_source:
            if cell.source != rcell.source:
                flags.append(f"{kind} {gid!r} was edited; restored from the source")
            cell.metadata = copy.deepcopy(dict(rcell.metadata))
        else:
            cell.metadata["nbgrader"] = copy.deepcopy(dict(rmeta))
    if restore_source:
        cell.source = full_sources.get(gid, rcell.source)
    return cell


def _rebuilt_notebook(submission, release, cells):
    """A notebook of ``cells`` in the release's format and kernelspec, with the
    submission's other metadata and unique cell ids."""
    nb = nbformat.v4.new_notebook()
    nb.nbformat, nb.nbformat_minor = release.nbformat, release.nbformat_minor
    meta = submission.get("metadata") if isinstance(submission, dict) else None
    nb.metadata = from_dict(copy.deepcopy(meta)) if isinstance(meta, dict) else from_dict({})
    nb.metadata["kernelspec"] = copy.deepcopy(release.metadata.get("kernelspec", {}))
    nb.cells = cells
    _fix_cell_ids(nb)
    return nb


def _fix_cell_ids(nb):
    """Unique cell ids (nbformat >= 4.5) or none (older minors)."""
    seen = set()
    for cell in nb.cells:
        if nb.nbformat_minor < 5:
            cell.pop("id", None)
            continue
        cid = cell.get("id")
        if not isinstance(cid, str) or not re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", cid) or cid in seen:
            cid = nbformat.corpus.words.generate_corpus_id()
            while cid in seen:
                cid = nbformat.corpus.words.generate_corpus_id()
            cell["id"] = cid
        seen.add(cid)


def _checked_exercises(cells):
    """exercise name -> grade_id of the test cell that checks it, from test-cell sources."""
    found = {}
    for cell in cells:
        if is_autograded_test(cell):
            for exercise, _ in expected_checks(cell.source):
                if exercise is not None:
                    found.setdefault(exercise, _grade_id(cell))
    return found


class _CourseRootMixin(LoggingConfigurable):
    course_root = Unicode(
        "", help="Course root (folder of nbgrader_config.py); records go to build/grading/ there."
    ).tag(config=True)
    release_directory = Unicode("notebooks", help="Release folder, relative to course_root.").tag(config=True)

    def _root(self):
        if not self.course_root:
            raise ValueError(f"{type(self).__name__}.course_root is not configured (see nbgrader_config.py)")
        return Path(self.course_root)

    def _record_path(self, resources):
        info = resources["nbgrader"]
        return record_path(self._root(), info["student"], info["assignment"], info["notebook"])


class RebuildFromRelease(_CourseRootMixin, NbGraderPreprocessor):
    """Sanitising step: rebuild the submission on the release's structure.

    Graded cells (solutions, tests, written answers, locked cells) end up exactly once and
    in order; test and locked cells get their source back from the gradebook (hidden tests
    included); the student's first copy of each solution cell and their own ungraded cells
    are kept. Every deviation becomes a flag in the record (key ``flags``), and so does
    every flag of ``grader.flags.scan(submission_nb, release_nb, exercises)``
    (``exercises``: exercise name -> grade id of the test cell that checks it). A record
    key ``zeroed`` (exercise -> reason, from ``grader.flags.zeroed_exercises``) makes
    ``TrustedVerdicts`` fail those exercises.
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        release_path = self._root() / self.release_directory / info["assignment"] / f"{info['notebook']}.ipynb"
        try:
            release = nbformat.read(release_path, as_version=4)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"release notebook {release_path} is missing; run `python -m grader release` first"
            ) from None
        full_sources = {}
        with Gradebook(info["db_url"]) as gb:
            try:
                for sc in gb.find_notebook(info["notebook"], info["assignment"]).source_cells:
                    full_sources[sc.name] = sc.source
            except MissingEntry:
                pass
        new_nb, flags = rebuild_from_release(nb, release, full_sources)
        zeroed = {}
        flags.extend(self._static_flags(new_nb, release, zeroed, self._source_nb(info)))
        path = self._record_path(resources)
        record = read_record(path)
        record.update({"flags": flags, "zeroed": zeroed})
        write_record(path, record)
        new_nb.metadata.setdefault("coursepack", {})["flags"] = list(flags)
        for flag in flags:
            self.log.warning("%s/%s: %s", info["student"], info["assignment"], flag)
        return new_nb, resources

    def _source_nb(self, info):
        """The instructor notebook solutions/<assignment>/<notebook>.ipynb, or None.
        (grader.flags allows, per exercise, the pack references its solution uses.)"""
        path = self._root() / "solutions" / info["assignment"] / f"{info['notebook']}.ipynb"
        try:
            return nbformat.read(path, as_version=4)
        except (OSError, ValueError):
            return None

    def _static_flags(self, nb, release, zeroed, source=None):
        exercises = _checked_exercises(nb.cells)
        found = list(static_flags.scan(nb, release, exercises, source_nb=source))
        zeroed.update(static_flags.zeroed_exercises(found, exercises))
        return found


class GradingKernelClient(AsyncKernelClient):
    """The grading kernel's client: jupyter_client's, readied without a fixed wait.

    jupyter_client's ``wait_for_ready`` asks for ``kernel_info`` until the reply comes on
    shell and a message on iopub (so both channels are connected), then reads iopub until
    it has been silent for 0.2 s. That last step is a fixed 0.2 s of every submission
    (about a sixth of one in grading mode 'graded') and is not needed by nbclient, which
    reads only the messages whose parent is the request it sent (an iopub message about
    ``kernel_info`` is skipped). The handshake itself is jupyter_client's, unchanged."""

    async def wait_for_ready(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if msg["msg_type"] == "kernel_info_reply":
                    try:
                        await self.iopub_channel.get_msg(timeout=0.2)
                    except Empty:
                        pass             # iopub not connected yet: ask again
                    else:
                        self._handle_kernel_info_reply(msg)
                        return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if deadline is not None and time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")


class GradingExecute(Execute):
    """nbgrader's ``Execute`` with the grading environment and a kernel-death guard.

    The kernel gets ``COURSE_GRADING=1``, ``COURSE_CHECK_SEED`` (this process's value,
    else a fresh random one; stored in ``resources["coursepack"]["seed"]``),
    ``COURSE_MODE=quick``, ``MPLBACKEND=Agg`` and ``COURSE_RESULTS`` pointing at a scratch
    file in the kernel's folder, never ``COURSE_HIDDEN_KEY``. A test cell with hidden
    checks runs with :func:`hidden_seed_preamble` before its own code (its stored source
    is not changed), the key being this process's ``$COURSE_HIDDEN_KEY`` or a fresh one
    (``resources["coursepack"]["hidden_key"]``, for TrustedVerdicts). If a cell kills or
    hangs the kernel, that cell gets an error and every later code cell an error saying it
    was not run, so the notebook is still saved and graded on what ran.

    ``cells`` is the grading mode (grader/grading_cells.py): ``graded`` runs the graded
    cells and what they need, ``all`` every cell.
    """

    course_root = Unicode("", help="Course root (release and source notebooks, records).").tag(config=True)
    cells = Unicode("graded", help="Grading mode: 'graded' (the graded cells and what they "
                                   "need) or 'all' (every cell); grader/grading_cells.py").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        resources = resources if resources is not None else {}
        seed = settings.check_seed() or str(secrets.randbelow(2**31 - 1) + 1)
        resources.setdefault("coursepack", {})["seed"] = seed
        self._hidden_key = settings.hidden_key() or secrets.token_hex(16)
        resources["coursepack"]["hidden_key"] = self._hidden_key
        self._grading_seed = seed
        self._broken = None
        self._sandbox_dir = None
        self._started_ahead_in = None     # the kernel's folder when it was started ahead
        # grading mode (grader.grading_cells): the cells this run leaves out
        self._plan = grading_cells.for_run(nb, resources, self.course_root, self.cells, self.log)
        try:
            nb, resources = super().preprocess(nb, resources, km=km)
            resources["coursepack"]["kernel_started_ahead"] = self._started_ahead_in is not None
            return nb, resources
        finally:
            grading_cells.restore_sources(self._plan, nb)
            sandbox.remove_kernel_dir(self._sandbox_dir)   # the kernel's private folder

    def prepare_start(self, cwd):
        """Set up what :meth:`preprocess` sets up before its kernel starts, for a kernel
        started ahead in ``cwd`` (grader/headstart.py): the run's check seed (which must
        be set) and the kernel's folder."""
        self._grading_seed = settings.check_seed()
        if not self._grading_seed:
            raise ValueError("a kernel started ahead needs the run's check seed "
                             f"(${settings.CHECK_SEED})")
        self._sandbox_dir = None
        self._started_ahead_in = None
        self.resources = {"metadata": {"path": cwd}}

    @property
    def sandbox_dir(self):
        """The kernel's private folder (connection file, sockets, scratch copy), or None."""
        return self._sandbox_dir

    async def async_start_new_kernel(self, **kwargs):
        env = dict(kwargs.pop("env", None) or os.environ)
        cwd = kwargs.get("cwd") or self.resources.get("metadata", {}).get("path") or os.getcwd()
        env.pop(settings.HIDDEN_KEY, None)     # the hidden seeds' key stays here
        env.update({
            GRADING_VARIABLE: "1",
            SEED_VARIABLE: self._grading_seed,
            "COURSE_MODE": "quick",
            "COURSE_RESULTS": os.path.join(cwd, RESULTS_SCRATCH),
            "MPLBACKEND": "Agg",
        })
        kwargs["env"] = env
        self.kernel_env = env
        started = await headstart.take(self.kernel_name, cwd, env)    # started ahead, the same?
        if started is not None:
            self.km, self._sandbox_dir = started
            self._started_ahead_in = cwd
            return
        # every grading kernel (sandboxed or --unsafe): ipc transport with the connection
        # file and sockets in a private folder (grader.kernels)
        self._sandbox_dir = sandbox.prepare_kernel_manager(self.km)
        if isinstance(self.km, AsyncKernelManager):
            self.km.client_class = f"{__name__}.GradingKernelClient"
        await super().async_start_new_kernel(**kwargs)

    # nbclient binds the sync wrapper to its own coroutine; rebind it to ours.
    start_new_kernel = run_sync(async_start_new_kernel)

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()      # waits until it is ready
        if self._started_ahead_in is not None:
            # Started before nbgrader copied the submission's files: copy them into the
            # sandbox's scratch folder now (the launcher made it before the kernel became
            # ready), before any cell runs.
            sandbox.refresh_scratch(self._started_ahead_in, self._sandbox_dir)
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if grading_cells.before_cell(self._plan, cell, index):   # grading mode: left out?
            return cell, resources
        if self._broken is not None:
            cell.outputs = [_error_output("NotRun", f"Not run: {self._broken}")]
            cell.execution_count = None
            return cell, resources
        preamble = hidden_seed_preamble(self._hidden_key, cell.source) \
            if is_autograded_test(cell) else None
        source = cell.source
        try:
            if preamble:
                cell.source = preamble + "\n" + source
            done, resources = super().preprocess_cell(cell, resources, index)
            done.source = source
            return done, resources
        except DeadKernelError:
            self._broken = f"the kernel died while running cell {index}"
            message = f"KernelDied: the kernel died while running this cell (cell {index})"
        except CellTimeoutError:
            self._broken = f"the kernel stopped responding in cell {index}"
            message = f"CellTimeoutError: no response from the kernel (cell {index}, limit {self.timeout} s)"
        finally:
            cell.source = source
        self.log.error(message)
        cell.outputs = list(cell.get("outputs", [])) + [_error_output(message.split(":")[0], message)]
        return cell, resources


class TrustedVerdicts(_CourseRootMixin, NbGraderPreprocessor):
    """Replace each autograded test cell's outputs with the verdict computed here.

    For every ``check(...)`` call in the test cell's source (from the gradebook), exactly
    one payload output (``checker.wire.PAYLOAD_MIME``) must be present, in order; each is
    judged in this process by ``checker.judge.judge_payload`` (it must be for the same
    exercise and ``hidden`` flag and carry this run's seed). The cell then holds a stdout stream with the pass lines, or an error
    output with the helpful message; nbgrader scores it from that. Anything else (no
    payload, too few or too many, another exercise or seed, malformed data, a kernel that
    died, an exercise zeroed by a static flag) fails the cell, with a flag. A hidden check
    is judged with its exercise's :func:`hidden_seed` under GradingExecute's hidden key.
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        self._seed = str(resources.get("coursepack", {}).get("seed") or settings.check_seed() or "")
        self._hidden_key = resources.get("coursepack", {}).get("hidden_key") or settings.hidden_key()
        path = self._record_path(resources)
        record = read_record(path)
        self._zeroed = record.get("zeroed") or {}
        self._flags = []
        self._verdicts = {}
        self._sources = {}
        with Gradebook(info["db_url"]) as gb:
            try:
                for sc in gb.find_notebook(info["notebook"], info["assignment"]).source_cells:
                    self._sources[sc.name] = sc.source
            except MissingEntry:
                pass
        self._flags.extend(static_flags.execution_flags(nb))   # limits hit, kernel deaths
        nb, resources = super().preprocess(nb, resources)
        record.update({
            "seed": self._seed,
            # grader/headstart.py: the kernel was started while nbgrader prepared
            "kernel_started_ahead": bool(resources.get("coursepack", {}).get("kernel_started_ahead")),
            "verdicts": self._verdicts,
            "flags": list(record.get("flags", [])) + self._flags,
        })
        write_record(path, record)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if not is_autograded_test(cell):
            return cell, resources
        gid = _grade_id(cell)
        source = self._sources.get(gid, cell.source)
        passed, lines = self.judge(gid, source, cell.get("outputs", []))
        if passed:
            cell.outputs = [_stream_output("\n".join(lines))]
        else:
            cell.outputs = [_error_output("CheckFailed", "\n".join(lines))]
        self._verdicts[gid] = {"passed": passed, "message": "\n".join(lines)}
        return cell, resources

    def judge(self, gid, source, outputs):
        """Return ``(passed, lines)`` for one test cell from its source and outputs."""
        expected = expected_checks(source)
        if not expected:
            self._flags.append(f"test cell {gid!r} has no check() call: no trusted verdict possible")
            return False, [f"{gid}: this test cell calls no check(); the grader cannot verify it."]
        payloads, errors = [], []
        for out in outputs:
            if not isinstance(out, dict):
                continue
            if out.get("output_type") in ("display_data", "execute_result"):
                data = out.get("data")
                if isinstance(data, dict) and PAYLOAD_MIME in data:
                    payloads.append(data[PAYLOAD_MIME])
            elif out.get("output_type") == "error":
                errors.append(f"{out.get('ename', 'Error')}: {out.get('evalue', '')}".strip())
        if len(payloads) != len(expected):
            why = f"expected {len(expected)} check result(s), found {len(payloads)}"
            if len(payloads) > len(expected):
                self._flags.append(f"test cell {gid!r}: more check results than check() calls ({why})")
            elif payloads or not errors:
                # Checks that ran without an error always leave a result: silence means
                # the checker was replaced or its output swallowed.
                self._flags.append(f"test cell {gid!r}: fewer check results than check() calls ({why})")
            if errors:
                return False, [f"{gid}: no trusted verdict ({why}): {errors[0]}"]
            return False, [f"{gid}: no trusted verdict ({why}).",
                           "Did the cells above run without errors?"]
        all_passed, lines = True, []
        for (exercise, hidden), payload in zip(expected, payloads):
            ok, message = self._judge_one(gid, exercise, hidden, payload)
            all_passed &= ok
            lines.append(message)
        return all_passed, lines

    def _judge_one(self, gid, exercise, hidden, payload):
        """(passed, the cell's line) for one check() call and its payload."""
        if exercise is None:
            return False, f"{gid}: a check() call does not name its exercise with a string literal"
        withheld = None
        if exercise in self._zeroed:
            reason = str(self._zeroed[exercise])
            withheld = reason if reason.startswith("0 points") else "0 points: " + reason
        if hidden and not self._hidden_key:
            return False, f"{gid}: the hidden check of {exercise} ran without the grader's hidden key"
        seed = hidden_seed(self._hidden_key, exercise) if hidden else self._seed
        verdict = judge_payload(payload, exercise, hidden, seed, withheld=withheld)
        if verdict.flag:
            self._flags.append(f"test cell {gid!r}: {verdict.flag}")
        judged = verdict.flag is None and withheld is None   # the outputs were judged
        return verdict.passed, ("hidden check: " if hidden and judged else "") + verdict.message


class _SchemaCheckedOnce(BaseMetadataValidator):
    """nbgrader's metadata check of one cell, with its schema checked and compiled once.

    nbgrader validates each cell's nbgrader metadata with ``jsonschema.validate``, which
    checks the schema itself (a fixed file of nbgrader's) before every cell: nine tenths
    of the cost, 0.1-0.3 s per notebook and pass. Here the same validator class is built
    once per schema version and the same error (``best_match``) is raised; a cell whose
    schema version differs goes to nbgrader's own code (its version errors)."""

    _validators = {}

    def validate_cell(self, cell):
        meta = cell.metadata.get("nbgrader")
        if meta is None or meta.get("schema_version", 0) != self.schema_version:
            return super().validate_cell(cell)
        validator = self._validators.get(self.schema_version)
        if validator is None:
            cls = jsonschema.validators.validator_for(self.schema)
            cls.check_schema(self.schema)
            validator = self._validators[self.schema_version] = cls(self.schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(meta))
        if error is not None:
            raise error


class _MetadataValidator(MetadataValidator, _SchemaCheckedOnce):
    """nbgrader's MetadataValidator (every check of its version) over _SchemaCheckedOnce."""


class CheckCellMetadata(NbgraderCheckCellMetadata):
    """nbgrader's ``CheckCellMetadata`` (same checks, same errors), with the metadata
    schema compiled once per process instead of once per cell (_SchemaCheckedOnce)."""

    def preprocess(self, nb, resources):
        try:
            _MetadataValidator().validate_nb(nb)
        except jsonschema.ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise jsonschema.ValidationError(msg)
        return nb, resources


class StripHiddenTests(NbGraderPreprocessor):
    """Feedback step: test cells show no hidden-test source (outputs, i.e. the trusted
    verdicts, stay)."""

    def preprocess_cell(self, cell, resources, index):
        if cell.get("cell_type") == "code" and (nbutils.is_grade(cell) or nbutils.is_locked(cell)):
            cell.source = strip_hidden_tests(cell.source)
        return cell, resources
