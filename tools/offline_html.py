"""Notebook HTML that needs no network: maths pre-rendered to MathML at export time.

nbconvert's HTML export leaves the LaTeX of Markdown cells as ``$...$`` text and loads
MathJax from a CDN to typeset it in the reader's browser; without a network the reader
sees raw LaTeX. `OfflineHTMLExporter` (an ``HTMLExporter``, so every ``HTMLExporter``
setting and template still applies) instead converts each formula while exporting, with
the ``math_core`` package (LaTeX to MathML Core, which current Chromium, Firefox and
Safari draw natively), and drops the MathJax ``<script>`` tags. A page is then one
self-contained file: it renders the same on another machine, opened from a mail
attachment or a USB stick, and costs a few kilobytes of MathML instead of loading (or
embedding) a megabyte-sized typesetting library per page.

Converted: ``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]`` and ``\\begin{env}...``
in Markdown cells and ``text/markdown`` outputs (nbconvert's own Markdown parser finds
them), and ``text/latex`` outputs. A formula ``math_core`` cannot convert stays readable
as its LaTeX source in a ``<code class="coursepack-tex">``. The page also gets a small
style sheet: a maths font stack, wide display formulas scroll instead of widening the
page, and long lines in output areas (check messages, tracebacks) wrap at the viewport.

Used by ``tools.run_notebooks`` (``make demo``) and, through ``nbgrader_config.py``
(``GenerateFeedback.exporter_class``), by the feedback pages.
"""
import html
import re

from jinja2 import pass_context
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

#: Class of the ``<code>`` that shows a formula math_core could not convert.
FALLBACK_CLASS = "coursepack-tex"

OFFLINE_CSS = """
/* tools/offline_html.py: maths pre-rendered to MathML, no MathJax, wrapped outputs */
math { font-family: "Latin Modern Math", "STIX Two Math", "Cambria Math", math; }
math[display="block"] { display: block math; margin: 0.6em 0; max-width: 100%;
  overflow-x: auto; overflow-y: hidden; }
code.coursepack-tex { white-space: pre-wrap; overflow-wrap: anywhere; }
/* long check messages and tracebacks wrap instead of widening the page */
.jp-OutputArea-output pre, .jp-RenderedText pre, div.output_area pre,
div.output_subarea pre, div.output_text pre {
  white-space: pre-wrap; overflow-wrap: anywhere; word-break: normal; max-width: 100%; }
.jp-OutputArea-output, div.output_subarea { min-width: 0; max-width: 100%; }
"""

# nbconvert's mathjax() macro (templates/base/mathjax.html.j2) brackets what it emits
# with these two comments, in every template that uses it (lab, classic, nbgrader's
# feedback template).
_MATHJAX_BLOCK = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->",
                            re.S)
# Any other MathJax loader or configuration a template might add.
_MATHJAX_SCRIPTS = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"'][^\"']*mathjax[^\"']*[\"'][^>]*>\s*</script>"
    r"|<script\b[^>]*\btype\s*=\s*[\"']text/x-mathjax-config[\"'][^>]*>.*?</script>",
    re.S | re.I)

_CONVERTER = None


def _converter():
    global _CONVERTER
    if _CONVERTER is None:
        import math_core

        _CONVERTER = math_core.LatexToMathML(fancy_error=False)
    return _CONVERTER


def tex_to_mathml(tex, display=False):
    """MathML for the LaTeX formula ``tex`` (without its delimiters), or, when it cannot
    be converted, the LaTeX itself (delimiters added back) in a ``<code>`` element of
    class ``coursepack-tex``. Never raises for bad LaTeX."""
    try:
        return _converter().convert_with_local_state(tex, displaystyle=bool(display))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # LatexError, or a panic of the Rust converter on odd input
        delimiter = "$$" if display else "$"
        return (f'<code class="{FALLBACK_CLASS}" title="LaTeX that could not be rendered">'
                f"{html.escape(delimiter + tex + delimiter, quote=False)}</code>")


def latex_output_to_mathml(text):
    """MathML for a ``text/latex`` output (``$...$``, ``$$...$$``, ``\\[...\\]``,
    ``\\begin{equation}...`` or a bare formula), as nbconvert would hand it to MathJax."""
    text = text.strip()
    for opening, closing, display in (("$$", "$$", True), ("\\[", "\\]", True),
                                      ("\\(", "\\)", False), ("$", "$", False)):
        if len(text) > len(opening) + len(closing) and text.startswith(opening) \
                and text.endswith(closing):
            return tex_to_mathml(text[len(opening):-len(closing)], display)
    return tex_to_mathml(text, display=True)


class MathMLRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer, with every formula rendered to MathML."""

    def block_math(self, body):
        return tex_to_mathml(body, display=True)

    def inline_math(self, body):
        return tex_to_mathml(body, display=False)

    def latex_environment(self, name, body):
        return tex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)


def make_offline(page):
    """``page`` (an exported HTML document) without MathJax and with `OFFLINE_CSS`.

    Only the document head is touched: nothing a notebook's own cells contain can be
    removed by mistake."""
    end = re.search(r"</head\s*>", page, re.I)
    head, rest = (page[:end.start()], page[end.start():]) if end else ("", page)
    head = _MATHJAX_SCRIPTS.sub("", _MATHJAX_BLOCK.sub("", head))
    style = f'<style type="text/css">{OFFLINE_CSS}</style>\n'
    return head + style + rest if end else style + rest


def _has_latex_outputs(nb):
    return any("text/latex" in out.get("data", {}) and "text/html" not in out.get("data", {})
               for cell in nb.get("cells", []) for out in cell.get("outputs", []) or [])


def _latex_outputs_as_html(nb):
    """A copy of ``nb`` where each ``text/latex`` output without an HTML form also has one
    (its MathML): the HTML exporter prefers ``text/html``."""
    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            data = out.get("data", {})
            latex = data.get("text/latex")
            if latex is not None and "text/html" not in data:
                if isinstance(latex, list):
                    latex = "".join(latex)
                data["text/html"] = latex_output_to_mathml(latex)
    return nb


class OfflineHTMLExporter(HTMLExporter):
    """``HTMLExporter`` whose pages render their maths without a network (see the module
    docstring): formulas pre-rendered to MathML, no MathJax script, wrapped outputs."""

    @pass_context
    def markdown2html(self, context, source):
        """Markdown to HTML with the formulas as MathML (else as nbconvert does)."""
        cell = context.get("cell", {})
        renderer = MathMLRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return MarkdownWithMath(renderer=renderer).render(source)

    def from_notebook_node(self, nb, resources=None, **kw):
        if _has_latex_outputs(nb):
            nb = _latex_outputs_as_html(nb)
        page, resources = super().from_notebook_node(nb, resources, **kw)
        return make_offline(page), resources


__all__ = ["OFFLINE_CSS", "OfflineHTMLExporter", "latex_output_to_mathml", "make_offline",
           "tex_to_mathml"]
