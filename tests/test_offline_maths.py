"""The exported HTML renders its maths without a network (issue 13, item 5).

`tools.offline_html` converts every formula to MathML while exporting and drops the
MathJax script, so a page is one self-contained file. Unit tests of the conversion and
the page clean-up (no kernel); then `make demo`'s own path, `tools.run_notebooks` on a
copy of 01_derivations, whose HTML page is copied ALONE into another folder (a page
mailed to a student) and opened in headless Chromium with the network cut off: the
Markdown cells must hold rendered MathML (non-zero sizes, stacked fractions) and no raw
LaTeX, and the page must not have tried to fetch maths from anywhere.

Chromium is /usr/bin/chromium (Debian's); without it the browser test skips, except in
CI (CI=true) where it fails.
"""
import shutil

import nbformat
import pytest

import system_deps
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from browser_support import REPO, launch_offline_browser, math_report, raw_latex
from tools import offline_html, run_notebooks

ARTEFACTS = REPO / "build" / "browser"
# Markdown cells of nbconvert's lab template (build/html/*.html).
LAB_MARKDOWN = ".jp-MarkdownCell .jp-RenderedMarkdown"


# ---------------------------------------------------------------------------------------
# Conversion (no kernel, no browser)

def test_tex_to_mathml_inline_and_display():
    inline = offline_html.tex_to_mathml(r"\frac{\partial L}{\partial \mathbf{W}}")
    assert inline.startswith("<math") and "<mfrac>" in inline and 'display="block"' not in inline
    block = offline_html.tex_to_mathml(r"\sum_n x_n", display=True)
    assert 'display="block"' in block


def test_unconvertible_latex_stays_readable_and_escaped():
    out = offline_html.tex_to_mathml(r"a < b \frac{1}{", display=False)
    assert out.startswith('<code class="coursepack-tex"')
    assert r"$a &lt; b \frac{1}{$" in out and "<math" not in out


@pytest.mark.parametrize("latex,display", [("$$x^2$$", True), (r"\[x^2\]", True),
                                           ("$x^2$", False), (r"\(x^2\)", False),
                                           (r"\begin{aligned}x &= 1\end{aligned}", True)])
def test_latex_outputs_become_mathml(latex, display):
    out = offline_html.latex_output_to_mathml(latex)
    assert out.startswith("<math") and (('display="block"' in out) == display), out


def test_make_offline_drops_mathjax_from_the_head_only():
    page = ("<html><head><!-- Load mathjax -->\n<script src='https://cdn/mathjax/2.7.7/x.js'>"
            "</script><script type='text/x-mathjax-config'>init()</script>"
            "<!-- End of mathjax configuration --><script src=\"https://x/MathJax.js\"> </script>"
            "</head><body><p>&lt;!-- Load mathjax --&gt; is what I typed</p></body></html>")
    out = offline_html.make_offline(page)
    head, body = out.split("</head>")
    assert "mathjax" not in head.lower().replace("no mathjax", "")
    assert "Load mathjax" in body and "<style" in head and "pre-wrap" in head


def _tiny_notebook():
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    nb.cells = [
        new_markdown_cell("Inline $\\sigma(z) = \\frac{1}{1+e^{-z}}$ and display\n\n"
                          "$$\\frac{\\partial L}{\\partial \\mathbf{w}} = \\tfrac1N "
                          "\\mathbf{X}^\\top(\\mathbf{p}-\\mathbf{t})$$\n\n"
                          "\\begin{equation}a^2 + b^2 = c^2\\end{equation}\n\n"
                          "Costs `$5` in code, and $\\notacommand{x}$ stays LaTeX."),
        new_code_cell('label = r"$\\frac{1}{2}$"   # code keeps its dollars',
                      outputs=[new_output("display_data",
                                          data={"text/latex": "$$\\int_0^1 x\\,dx$$",
                                                "text/plain": "<IPython.core.display.Math>"})]),
    ]
    return nb


def test_exporter_renders_markdown_and_latex_outputs_to_mathml():
    page, _ = offline_html.OfflineHTMLExporter().from_notebook_node(_tiny_notebook())
    scripts = [chunk.split(">", 1)[0] for chunk in page.lower().split("<script")[1:]]
    assert not any("mathjax" in s for s in scripts), scripts
    assert "text/x-mathjax-config" not in page
    assert page.count("<math") == 4, page.count("<math")    # 3 in Markdown, 1 text/latex
    assert "<mfrac>" in page and "<msubsup>" in page        # the integral of the output
    assert '<code class="coursepack-tex"' in page and "notacommand" in page
    assert "$5" in page and "code keeps its dollars" in page


def test_offline_page_costs_little_more_than_the_cdn_page():
    """Hundreds of feedback pages: MathML adds kilobytes, not a typesetting library."""
    from nbconvert import HTMLExporter

    nb = nbformat.read(REPO / "solutions" / "01_derivations" / "derivations.ipynb", as_version=4)
    offline, _ = offline_html.OfflineHTMLExporter().from_notebook_node(nb)
    cdn, _ = HTMLExporter().from_notebook_node(nb)
    formulas = offline.count("<math")
    assert formulas > 100
    extra = len(offline.encode()) - len(cdn.encode())
    assert extra < 400 * formulas, f"{extra} bytes more for {formulas} formulas"


# ---------------------------------------------------------------------------------------
# make demo's HTML, opened offline in a real browser

@pytest.fixture(scope="module")
def demo_page(tmp_path_factory):
    """build/html/01_derivations.html as `make demo` writes it (tools.run_notebooks,
    quick mode, on a copy of the notebook), then copied alone into an empty folder."""
    root = tmp_path_factory.mktemp("demo-root")
    shutil.copytree(REPO / "solutions" / "01_derivations", root / "solutions" / "01_derivations",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    with pytest.MonkeyPatch.context() as mp:
        # run_notebooks sets both for its kernels; restore them for the other tests
        mp.setenv("COURSE_MODE", "quick")
        mp.setenv("COURSE_RESULTS", str(root / "results-quick.json"))
        code = run_notebooks.main(["--mode", "quick", "--only", "01_derivations"], root=root)
    assert code == 0, "01_derivations failed to run (see the output above)"
    page = root / "build" / "html" / "01_derivations.html"
    elsewhere = tmp_path_factory.mktemp("mailed") / "derivations.html"
    shutil.copy(page, elsewhere)
    return elsewhere


def test_demo_html_has_no_mathjax_script(demo_page):
    text = demo_page.read_text(encoding="utf-8")
    assert "cdnjs.cloudflare.com/ajax/libs/mathjax" not in text
    assert "text/x-mathjax-config" not in text
    assert text.count("<math") > 100


@pytest.fixture(scope="module")
def offline_browser(tmp_path_factory):
    sync_playwright = system_deps.require_browser()
    with sync_playwright() as p:
        context, blocked = launch_offline_browser(p, tmp_path_factory.mktemp("chromium-offline"))
        try:
            yield context, blocked
        finally:
            context.close()


@pytest.mark.timeout(300)
def test_demo_page_renders_maths_offline(demo_page, offline_browser):
    context, blocked = offline_browser
    blocked.clear()
    page = context.new_page()
    try:
        page.goto(demo_page.as_uri(), wait_until="load")
        page.wait_for_timeout(500)             # anything a script would still typeset
        report = math_report(page, LAB_MARKDOWN)
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTEFACTS / "offline-maths-01_derivations.png"))
    finally:
        page.close()
    assert report["areas"] > 20, report["areas"]
    assert report["count"] > 100, f"only {report['count']} rendered formulas"
    assert report["empty"] == 0, f"{report['empty']} formula(s) drawn with no size"
    assert report["display"] > 5 and report["fractions"] > 20
    assert report["flat_fractions"] == 0, f"{report['flat_fractions']} fractions not stacked"
    assert report["fallbacks"] == 0, "some formulas were left as LaTeX source"
    assert not report["mathjax"], "the page loaded MathJax"
    assert not raw_latex(report["text"]), raw_latex(report["text"])
    assert not [u for u in blocked if "mathjax" in u.lower()], blocked


@pytest.mark.timeout(120)
def test_control_the_cdn_page_shows_raw_latex_offline(tmp_path, offline_browser):
    """The same check on nbconvert's plain export fails: the test can tell the two apart."""
    from nbconvert import HTMLExporter

    nb = nbformat.read(REPO / "solutions" / "01_derivations" / "derivations.ipynb", as_version=4)
    cdn = tmp_path / "cdn.html"
    cdn.write_text(HTMLExporter().from_notebook_node(nb)[0], encoding="utf-8")
    context, blocked = offline_browser
    blocked.clear()
    page = context.new_page()
    try:
        page.goto(cdn.as_uri(), wait_until="load")
        report = math_report(page, LAB_MARKDOWN)
    finally:
        page.close()
    assert report["count"] == 0 and r"$\frac" in raw_latex(report["text"])
    assert any("mathjax" in u.lower() for u in blocked)
