"""Drive JupyterLab in a real Chromium for tests/test_browser.py.

A `LabServer` runs ``jupyter lab`` on 127.0.0.1 (random free port, a token, every Jupyter
directory in a temporary folder) and is stopped by killing its process group. `run_all`
opens one notebook through the browser, runs every cell with JupyterLab's own "Run All
Cells" command and reports, per code cell, its execution count and any error output.
`nudge_slider` presses ArrowRight on a slider of a lecture demo and returns the demo's
picture before and after. Nothing here downloads a browser: Chromium is the system one.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# Every cell in the DOM (no virtual scrolling), so the DOM checks see the whole notebook;
# each cell's execution times in its metadata (recordTiming, for the lecture timings); no news or update checks from the lab (no network here).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
        {"windowingMode": "none", "recordTiming": True},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}
# The class the notebooks add to each lecture demo's outer box (docs/interfaces.md).
DEMO_CLASS = "coursepack-demo"


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``jupyter lab`` serving ``root`` on 127.0.0.1 with its own config, data and runtime dirs.

    ``env`` adds to (or, with None values, removes from) the server's and kernels'
    environment. `start` waits until the REST API answers; `stop` kills the whole process
    group (server and kernels) and is safe to call twice.
    """

    def __init__(self, root, scratch, env=None, python=sys.executable):
        self.root = Path(root)
        self.scratch = Path(scratch)
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.python = python
        self.extra_env = dict(env or {})
        self.proc = None
        self.log_path = self.scratch / "jupyter-lab.log"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, relpath):
        """The lab URL that opens ``relpath`` (relative to ``root``) in a workspace of its own.

        A fresh workspace per notebook, so the lab does not restore the notebooks opened
        before it (and their kernels stay shut down).
        """
        workspace = "ws-" + re.sub(r"[^A-Za-z0-9]+", "-", Path(relpath).as_posix())
        return (f"{self.url}/lab/workspaces/{workspace}/tree/{Path(relpath).as_posix()}"
                f"?token={self.token}")

    def _environment(self):
        env = dict(os.environ)
        dirs = {name: self.scratch / name.lower() for name in
                ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")}
        for name, path in dirs.items():
            path.mkdir(parents=True, exist_ok=True)
            env[name] = str(path)
        env.pop("MPLBACKEND", None)         # the kernels must use the inline backend
        env.pop("JUPYTER_PATH", None)
        for key, value in self.extra_env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        return env

    def _write_settings(self):
        settings = self.scratch / "lab-user-settings"
        for name, values in LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        return settings

    def start(self, timeout=90):
        """Start the server and wait until ``/api/status`` answers; raise with the log if not."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        settings = self._write_settings()
        cmd = [self.python, "-m", "jupyterlab",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
               "--ServerApp.port_retries=0", "--ServerApp.open_browser=False",
               f"--ServerApp.root_dir={self.root}",
               f"--IdentityProvider.token={self.token}",
               "--LabApp.expose_app_in_browser=True",
               f"--LabApp.user_settings_dir={settings}",
               f"--LabApp.workspaces_dir={self.scratch / 'lab-workspaces'}",
               "--LabApp.extension_manager=readonly", "--LabApp.news_url=",
               "--ServerApp.log_level=WARN"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")      # CI containers run as root
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=self._environment(), stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with code {self.proc.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}",
                                            timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer on {self.url} within {timeout} s:\n"
                           f"{self.log_tail()}")

    def log_tail(self, chars=4000):
        """The end of the server's log (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError as exc:
            return f"(no server log: {exc})"

    def stop(self):
        """SIGTERM the process group, then SIGKILL whatever is left after 10 s."""
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            # The leader is gone; kernels in the same group may not be.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break
        self.proc = None


def copy_notebook(source, dest_dir):
    """Copy a notebook's folder to ``dest_dir`` with every output and execution count cleared.

    The folder comes along (a notebook may read files beside it); the notebook itself is
    rewritten without outputs, so "Run All" starts from a clean state and nothing the
    browser run writes reaches the source folder. Returns the copy's path.
    """
    source = Path(source)
    dest_dir = Path(dest_dir)
    shutil.copytree(source.parent, dest_dir, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    try:
        nb = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{source}: not a readable notebook ({exc})") from None
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    copy = dest_dir / source.name
    copy.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return copy


def launch_browser(playwright, user_data_dir):
    """The system Chromium, headless, with a new empty profile (a persistent context)."""
    Path(user_data_dir).mkdir(parents=True, exist_ok=True)
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=str(CHROMIUM), headless=True,
        args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})


# --- JavaScript run inside the page (window.jupyterapp is exposed by the server flag) ----

_JS_APP_READY = """(path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return false;
  const w = app.shell.currentWidget;
  return !!(w && w.context && w.context.path === path && w.sessionContext &&
            w.sessionContext.session && w.sessionContext.session.kernel &&
            w.sessionContext.session.kernel.status === 'idle' && w.content &&
            w.content.widgets.length > 0);
}"""

# Errors are read from the output model (output_type "error"): JupyterLab 4.6 draws an
# error and a stderr stream with the same classes and data-mime-type
# (jp-RenderedText, application/vnd.jupyter.stderr), so the DOM cannot tell a traceback
# from a warning.
_JS_STATE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  const cells = w.content.widgets.map((cell, index) => {
    const m = cell.model;
    if (m.type !== 'code') return null;
    const source = m.sharedModel.getSource();
    const outputs = [];
    for (let i = 0; i < m.outputs.length; i++) outputs.push(m.outputs.get(i).toJSON());
    const timing = m.getMetadata('execution') || {};
    const t0 = Date.parse(timing['iopub.execute_input']);
    const t1 = Date.parse(timing['shell.execute_reply']);
    return {index, source, count: m.executionCount,
            seconds: (isNaN(t0) || isNaN(t1)) ? null : (t1 - t0) / 1000,
            running: cell.node.querySelector('.jp-InputArea-prompt') ?
                     cell.node.querySelector('.jp-InputArea-prompt').textContent.includes('*')
                     : false,
            errors: outputs.filter(o => o.output_type === 'error').map(o => ({
              ename: o.ename, evalue: o.evalue,
              traceback: (o.traceback || []).join('\\n')}))};
  }).filter(c => c !== null);
  return {kernel: kernel ? kernel.status : 'none',
          busy: w.sessionContext.isBusy || false, cells};
}"""


@dataclass
class NotebookRun:
    """What `run_all` saw: wall time, kernel status and every code cell's state.

    ``cells`` holds one dict per code cell: index (among all cells), source, count
    (execution count or None), seconds (kernel time from JupyterLab's recorded timing, or
    None), running, and errors (ename, evalue, traceback).
    """
    path: str
    seconds: float
    kernel: str
    cells: list = field(default_factory=list)

    def unexecuted(self):
        """Code cells with source but no execution count (or still running)."""
        return [c for c in self.cells if c["source"].strip() and
                (c["count"] is None or c["running"])]

    def errors(self):
        """Readable error reports, one per failing cell: notebook, cell, error text."""
        out = []
        for c in self.cells:
            if c["errors"]:
                first = c["source"].strip().splitlines()[0][:80] if c["source"].strip() else ""
                text = "\n".join(f"{e['ename']}: {e['evalue']}\n{strip_ansi(e['traceback'])}"
                                 for e in c["errors"])
                out.append(f"{self.path}, cell {c['index']} (execution count {c['count']}, "
                           f"starts {first!r}):\n{text}")
        return out


def strip_ansi(text):
    """Remove terminal colour codes from a traceback."""
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def open_notebook(page, server, relpath, timeout=90):
    """Open ``relpath`` in the lab and wait until its kernel is idle."""
    page.goto(server.notebook_url(relpath), wait_until="domcontentloaded")
    try:
        page.wait_for_function(_JS_APP_READY, arg=Path(relpath).as_posix(),
                               timeout=timeout * 1000, polling=250)
    except Exception as exc:
        raise RuntimeError(f"{relpath}: JupyterLab did not open the notebook with an idle "
                           f"kernel within {timeout} s ({exc}).\nServer log:\n"
                           f"{server.log_tail()}") from None
    # A kernel-selection or other dialog would block "Run All": say so instead of waiting.
    if page.locator(".jp-Dialog").count():
        text = page.locator(".jp-Dialog").first.inner_text()
        raise RuntimeError(f"{relpath}: JupyterLab shows a dialog on opening: {text!r}")


def state(page):
    """The notebook's kernel status and every code cell (see `_JS_STATE`)."""
    return page.evaluate(_JS_STATE)


def run_all(page, relpath, timeout):
    """Run every cell with the "Run All Cells" command and wait for the kernel to finish.

    Finished means: the kernel is idle and every code cell with source has an execution
    count and no running prompt (or a cell shows an error: "Run All" stops there), seen
    twice in a row 0.5 s apart. The notebook must be opened with no execution counts
    (see `copy_notebook`). Returns a `NotebookRun`;
    raises TimeoutError naming the cells not yet run if that takes longer than ``timeout``.
    """
    start = time.monotonic()
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    done_once = False
    while True:
        time.sleep(0.5)
        s = state(page)
        run = NotebookRun(relpath, time.monotonic() - start, s["kernel"], s["cells"])
        # "Run All" stops at the first error: the cells after it never get a count.
        finished = (s["kernel"] == "idle" and not s["busy"]
                    and (not run.unexecuted() or run.errors()))
        if finished and done_once:
            return run
        done_once = finished
        if s["kernel"] in ("dead", "unknown") or time.monotonic() - start > timeout:
            pending = [c["index"] for c in run.unexecuted()]
            raise TimeoutError(f"{relpath}: kernel {s['kernel']!r} after {run.seconds:.0f} s "
                               f"(limit {timeout} s); code cells not run: {pending}; "
                               f"errors so far: {run.errors()}")


def shutdown_kernel(page):
    """Shut down the current notebook's kernel (best effort: the server stop kills it too)."""
    page.evaluate("""async () => {
      const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
      if (w && w.sessionContext) await w.sessionContext.shutdown();
    }""")


def demo_picture(demo):
    """The src of every <img> inside a demo box (the widget's output area), as a tuple."""
    return tuple(demo.locator("img").evaluate_all("els => els.map(e => e.src)"))


# Installed on a demo box before a key press: the page's own clock records when the key
# went down (capture phase, before the slider sees it) and when every new picture in the
# box has been decoded, i.e. could be painted. The polling loop below only decides when to
# stop; these two instants give the redraw time without its 0.2 s steps and the cost of
# reading the notebook's state.
_JS_WATCH_REDRAW = """(demo) => {
  if (demo.__coursepackRedraw) demo.__coursepackRedraw.stop();
  const record = {pressed: null, shown: null};
  const seen = new Set(Array.from(demo.querySelectorAll('img')).map(img => img.src));
  const onKey = () => { if (record.pressed === null) record.pressed = performance.now(); };
  demo.addEventListener('keydown', onKey, {capture: true});
  const observer = new MutationObserver(() => {
    for (const img of demo.querySelectorAll('img')) {
      if (!img.src || seen.has(img.src)) continue;
      seen.add(img.src);
      const done = () => { record.shown = Math.max(record.shown || 0, performance.now()); };
      img.decode().then(done, done);
    }
  });
  observer.observe(demo, {subtree: true, childList: true, attributes: true,
                          attributeFilter: ['src']});
  record.stop = () => { observer.disconnect(); demo.removeEventListener('keydown', onKey, true); };
  demo.__coursepackRedraw = record;
}"""

_JS_READ_REDRAW = """(demo, last) => {
  const r = demo.__coursepackRedraw;
  if (!r) return null;
  if (last) r.stop();
  return (r.pressed === null || r.shown === null) ? null : (r.shown - r.pressed) / 1000;
}"""


def nudge_slider(page, demo, timeout=120):
    """Press ArrowRight on the first slider handle of ``demo`` and wait for a new picture.

    Returns ``(before, after, seconds, description, wall)``: the demo's image sources
    before and after, the redraw time (the page's clock, from the key press to the new
    picture decoded; None if the page saw no new picture), the slider's label, and the
    wall time until this loop, polling every 0.2 s, saw the new picture with the kernel
    idle. ``after`` equals ``before`` if nothing changed within ``timeout`` (the caller
    asserts).
    """
    slider = demo.locator(".widget-slider").first
    label = slider.locator(".widget-label").first.inner_text().strip()
    handle = slider.locator(".noUi-handle").first
    before = demo_picture(demo)
    demo.evaluate(_JS_WATCH_REDRAW)
    handle.focus()
    start = time.monotonic()
    handle.press("ArrowRight")
    after = before
    while time.monotonic() - start < timeout:
        time.sleep(0.2)
        after = demo_picture(demo)
        if after and after != before:
            # A redraw may first clear the output, then draw: wait for it to settle.
            if state(page)["kernel"] == "idle":
                after = demo_picture(demo)
                break
    wall = time.monotonic() - start
    seconds = None
    for _ in range(10 if after != before else 0):     # the last decode may lag
        seconds = demo.evaluate(_JS_READ_REDRAW, False)
        if seconds is not None:
            break
        time.sleep(0.2)
    demo.evaluate(_JS_READ_REDRAW, True)
    return before, after, seconds, label, wall


# --- Offline pages (exported HTML, feedback): no network, maths must render -------------

def launch_offline_browser(playwright, user_data_dir, viewport=None):
    """Like `launch_browser`, with the network cut off: the context is offline and every
    request that is not for a ``file:``, ``data:`` or ``blob:`` URL is aborted. Returns
    ``(context, blocked)``; ``blocked`` is a list that collects the aborted URLs."""
    Path(user_data_dir).mkdir(parents=True, exist_ok=True)
    context = playwright.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=str(CHROMIUM), headless=True,
        args=CHROMIUM_ARGS, viewport=viewport or {"width": 1400, "height": 1000})
    context.set_offline(True)
    blocked = []

    def block(route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    context.route("**/*", block)
    return context, blocked


# What the maths of a page looks like once the browser has laid it out. ``selector``
# picks the rendered text (Markdown cells) whose maths counts. For every <math> element:
# its size; for every fraction, whether it is drawn stacked (numerator above the
# denominator). The text of those elements (maths removed) tells whether
# raw LaTeX is left.
_JS_MATH_REPORT = """(selector) => {
  const areas = Array.from(document.querySelectorAll(selector));
  const maths = areas.flatMap(a => Array.from(a.querySelectorAll('math')));
  const sizes = maths.map(m => { const r = m.getBoundingClientRect();
                                 return {w: r.width, h: r.height,
                                         display: m.getAttribute('display') === 'block'}; });
  const fractions = maths.flatMap(m => Array.from(m.querySelectorAll('mfrac'))).map(f => {
      if (f.children.length !== 2) return false;
      const num = f.children[0].getBoundingClientRect();
      const den = f.children[1].getBoundingClientRect();
      return num.height > 0 && den.height > 0 && num.bottom <= den.top + 1; });
  const text = areas.map(a => { const c = a.cloneNode(true);
                                c.querySelectorAll('math').forEach(m => m.remove());
                                return c.innerText; }).join('\\n');
  return {areas: areas.length, count: maths.length,
          empty: sizes.filter(s => !(s.w > 0 && s.h > 0)).length,
          display: sizes.filter(s => s.display).length,
          fractions: fractions.length,
          flat_fractions: fractions.filter(stacked => !stacked).length,
          mathjax: typeof window.MathJax !== 'undefined',
          fallbacks: document.querySelectorAll('code.coursepack-tex').length,
          text};
}"""


def math_report(page, selector):
    """The maths of the loaded ``page`` inside the elements matching ``selector``
    (see `_JS_MATH_REPORT`): areas, count, empty (<math> without a size), display,
    fractions, flat_fractions (not stacked), mathjax (a MathJax global exists),
    fallbacks (formulas left as LaTeX source) and text (the areas' text, maths removed)."""
    return page.evaluate(_JS_MATH_REPORT, selector)


def raw_latex(text):
    """The LaTeX commands and $-delimited formulas left in ``text`` (rendered maths must
    leave none): e.g. ``$\\frac``, ``\\partial``, ``$$``."""
    found = re.findall(r"\$\$|\$\s*\\[A-Za-z]+|\\(?:frac|partial|mathbf|sum|lambda|sigma|"
                       r"begin|end|tfrac|operatorname|top|ln)\b", text)
    return sorted(set(found))
