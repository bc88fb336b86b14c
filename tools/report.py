"""Write build/REPORT.md from build/results.json and build/timings-full.json.

``python -m tools.report [--results PATH] [--timings PATH] [--out PATH] [--strict]``

One table row per headline key: the measured value beside the number from the source
documents (``reference``) and the pack's target, with a pass/miss mark; a key recorded
with a ``<key>_sd`` companion (several seeds) is shown as mean ± sd, and its target is
checked on the mean. Then the wall time of each notebook and their total against the
``make reproduce`` budget. A key the notebooks did not record is shown as "not run",
never filled in. ``--strict`` exits 1 when a target is missed or a key is missing.
"""
import argparse
import sys
from pathlib import Path
from typing import NamedTuple, Optional

from helpers import results as results_file

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 0.003  # "within 0.003 of the library" for the matched comparisons
REPRODUCE_BUDGET_S = 90 * 60   # make reproduce, all notebooks in full mode, on the course machine
SD_SUFFIX = "_sd"


class Target(NamedTuple):
    """A headline key, its reference number, and what it must reach (all optional).

    ``minimum``: value >= minimum. ``match``: |value - results[match]| <= TOLERANCE.
    ``at_least``: value >= results[at_least]. ``source`` says where the reference is from;
    ``note`` is shown beside "not run" (why a key may be absent).
    """

    key: str
    reference: Optional[float] = None
    minimum: Optional[float] = None
    match: Optional[str] = None
    at_least: Optional[str] = None
    source: str = ""
    note: str = ""


# Accuracies are fractions. References: 001 = the logistic/softmax course report,
# 002 = the 8x8-digits softmax notebook, 003 = the from-scratch MLP assignment (its
# results tables in sections 7.10, 8.4, 9.4, 10.1, 11.7); see ../shared/seeds/README.md.
TARGETS = (
    Target("logistic_2v3_test_acc", 0.98, 0.980, match="sklearn_logistic_2v3_test_acc",
           source="001"),
    Target("sklearn_logistic_2v3_test_acc"),
    Target("logistic_2v8_test_acc", 0.97, 0.978, match="sklearn_logistic_2v8_test_acc",
           source="001"),
    Target("sklearn_logistic_2v8_test_acc"),
    Target("reg_l2_test_acc", minimum=0.975),
    Target("reg_l1_test_acc", minimum=0.975),
    Target("reg_l2_best_lambda"),
    Target("reg_l1_best_lambda"),
    Target("reg_l2_test_acc_2v8"),
    Target("reg_l1_test_acc_2v8"),
    Target("reg_l2_best_lambda_2v8"),
    Target("reg_l1_best_lambda_2v8"),
    Target("softmax_digits_test_acc", 0.9644, 0.9644,
           at_least="sklearn_softmax_digits_test_acc", source="002"),
    Target("sklearn_softmax_digits_test_acc"),
    Target("softmax_mnist_protocol_test_acc", 0.9355, 0.94,
           match="sklearn_softmax_mnist_protocol_test_acc", source="001"),
    Target("sklearn_softmax_mnist_protocol_test_acc"),
    Target("softmax_mnist_full_test_acc", minimum=0.925),
    Target("softmax_mnist_best_config"),
    Target("mlp_sigmoid_test_acc", 0.9009, source="003 7.10"),
    Target("mlp_tanh_test_acc", 0.9588, source="003 7.10"),
    Target("mlp_relu_test_acc", 0.9691, source="003 7.10"),
    Target("mlp_leaky_relu_test_acc", 0.9704, source="003 7.10"),
    # Notebook 5 records the mean over its seeds (3 in full mode) and <key>_sd beside it.
    Target("mlp_sgd_test_acc", 0.9691, 0.97, source="003 8.4"),
    Target("mlp_momentum_test_acc", 0.9785, 0.98, source="003 8.4"),
    Target("mlp_rmsprop_test_acc", 0.7084, 0.975, source="003 8.4, a broken RMSProp"),
    Target("mlp_adam_test_acc", 0.9261, 0.98, source="003 8.4, a broken Adam"),
    Target("mlp_mse_sgd_test_acc", 0.9552, source="003 9.4"),
    Target("mlp_mse_momentum_test_acc", 0.9720, source="003 9.4"),
    Target("mlp_wd_0.5_test_acc", 0.1135, source="003 11.7",
           note="outside notebook 5's weight-decay grid (1e-5 to 1e-2)"),
    Target("mlp_wd_0.1_test_acc", 0.4161, source="003 11.7",
           note="outside notebook 5's weight-decay grid (1e-5 to 1e-2)"),
    Target("mlp_wd_0.01_test_acc", 0.9476, source="003 11.7"),
    Target("mlp_wd_0.001_test_acc", 0.9757, source="003 11.7"),
    Target("mlp_wd_0_test_acc", 0.9783, source="003 11.7"),
    Target("mlp_wd_best_test_acc"),
    Target("mlp_wd_best_lambda"),
    Target("mlp_best_config"),
    Target("mlp_best_test_acc", 0.9785, 0.982,
           source="003 8.4, best from scratch: momentum"),
    Target("sklearn_mlp_test_acc", 0.9782, source="003 10.1, library MLP: PyTorch+Adam"),
)

PASS, MISS, NOT_RUN, UNCHECKED, NO_TARGET = "pass", "**MISS**", "not run", "unchecked", "-"


def _fmt(value, key=""):
    """Accuracies (keys with ``_acc``) to 4 decimals, other numbers compactly."""
    if value is None:
        return "-"
    if isinstance(value, (bool, str)):
        return str(value).replace("|", "\\|")
    if "_acc" in key:
        return f"{value:.4f}"
    return f"{value:g}"


def shown_value(results, key):
    """The measured value as text: "mean ± sd" when ``<key>_sd`` was recorded too."""
    value = _fmt(results[key], key)
    sd = results.get(key + SD_SUFFIX)
    if isinstance(sd, (int, float)) and not isinstance(sd, bool) and "_acc" in key:
        value += f" ± {sd:.4f}"
    return value


def describe(target):
    """The target in words, e.g. ">= 0.980 and within 0.003 of sklearn_...", or "-"."""
    parts = []
    if target.minimum is not None:
        parts.append(f">= {target.minimum:.4g}")
    if target.match is not None:
        parts.append(f"within {TOLERANCE} of `{target.match}`")
    if target.at_least is not None:
        parts.append(f">= `{target.at_least}`")
    return " and ".join(parts) or NO_TARGET


def check(target, results):
    """(mark, note) for one target given the results dict."""
    if target.key not in results:
        return NOT_RUN, ""
    has_target = any(x is not None for x in (target.minimum, target.match, target.at_least))
    if not has_target:
        return NO_TARGET, ""
    value = results[target.key]
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return MISS, f"not a number: {value!r}"
    misses, missing = [], []
    if target.minimum is not None and value < target.minimum:
        misses.append(f"below {target.minimum:.4g}")
    for other, kind in ((target.match, "match"), (target.at_least, "at_least")):
        if other is None:
            continue
        if other not in results:
            missing.append(other)
            continue
        gap = value - results[other]
        if kind == "match" and abs(gap) > TOLERANCE + 1e-9:   # inclusive: 0.981 - 0.978
            misses.append(f"{gap:+.4f} from `{other}`")
        if kind == "at_least" and gap < 0:
            misses.append(f"{gap:+.4f} below `{other}`")
    if misses:
        return MISS, "; ".join(misses + [f"`{m}` not run" for m in missing])
    if missing:
        return UNCHECKED, "; ".join(f"`{m}` not run" for m in missing)
    return PASS, ""


def _read_json(path, what):
    """A dict from ``path`` (``helpers.results.load``); {} with a warning when absent,
    SystemExit when corrupt."""
    if not Path(path).exists():
        print(f"warning: {path} not found; every {what} is shown as not run",
              file=sys.stderr)
        return {}
    try:
        return results_file.load(path)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None


def _fmt_seconds(seconds):
    minutes, sec = divmod(float(seconds), 60)
    return f"{int(minutes)} min {sec:04.1f} s" if minutes else f"{sec:.1f} s"


def render(results, timings, results_name="build/results.json",
           timings_name="build/timings-full.json"):
    """The REPORT.md text. Returns (text, counts dict mark -> number)."""
    rows, counts = [], {}
    for target in TARGETS:
        mark, note = check(target, results)
        if mark == NOT_RUN and target.note:
            note = target.note
        counts[mark] = counts.get(mark, 0) + 1
        value = shown_value(results, target.key) if target.key in results else NOT_RUN
        reference = _fmt(target.reference, target.key)
        if target.source and target.reference is not None:
            reference += f" ({target.source})"
        rows.append(f"| `{target.key}` | {value} | {reference} | {describe(target)} | "
                    f"{mark}{' - ' + note if note else ''} |")
    lines = [
        "# Reproduction report",
        "",
        f"Generated by `python -m tools.report` from `{results_name}` and "
        f"`{timings_name}` (written by `make reproduce`, full mode). Accuracies are "
        "fractions of the test set; a value with ± is the mean and standard deviation over "
        "seeds, and its target is checked on the mean. *Reference*: the number in the source documents, "
        "with its source in brackets (001 course report, 002 digits notebook, 003 MLP "
        "assignment and its section). *Target*: what this pack must reach. Keys "
        "the notebooks did not record are shown as \"not run\".",
        "",
        f"Summary: {counts.get(PASS, 0)} pass, {counts.get(MISS, 0)} miss, "
        f"{counts.get(UNCHECKED, 0)} unchecked (comparison key not run), "
        f"{counts.get(NOT_RUN, 0)} not run, {counts.get(NO_TARGET, 0)} without target.",
        "",
        "## Headline numbers",
        "",
        "| key | measured | reference (source) | target | status |",
        "|---|---|---|---|---|",
        *rows,
    ]
    known = {t.key for t in TARGETS}
    extra = sorted(k for k in results if k not in known and not
                   (k.endswith(SD_SUFFIX) and k[:-len(SD_SUFFIX)] in results))
    if extra:
        lines += ["", "## Other recorded numbers", "", "| key | measured |", "|---|---|"]
        lines += [f"| `{k}` | {shown_value(results, k)} |" for k in extra]
    lines += ["", "## Notebook wall time (full mode)", ""]
    if timings:
        lines += ["| notebook | wall time | status |", "|---|---|---|"]
        for name in sorted(timings):
            entry = timings[name]
            if isinstance(entry, dict):
                seconds, status = entry.get("seconds"), entry.get("status", "?")
            else:
                seconds, status = entry, "?"
            shown = _fmt_seconds(seconds) if isinstance(seconds, (int, float)) else "?"
            lines.append(f"| `{name}` | {shown} | {status} |")
        seconds = [e.get("seconds") if isinstance(e, dict) else e for e in timings.values()]
        total = sum(s for s in seconds if isinstance(s, (int, float)))
        verdict = "within" if total <= REPRODUCE_BUDGET_S else "**over**"
        lines += ["", f"Total: {_fmt_seconds(total)} for {len(timings)} notebook(s), {verdict} "
                      f"the {REPRODUCE_BUDGET_S // 60} min budget of `make reproduce`."]
    else:
        lines.append("No timings recorded (run `make reproduce`).")
    return "\n".join(lines) + "\n", counts


def main(argv=None):
    """Write the report; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m tools.report",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "build" / "results.json")
    parser.add_argument("--timings", type=Path, default=ROOT / "build" / "timings-full.json")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "REPORT.md")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 if a target is missed or a headline key is missing")
    args = parser.parse_args(argv)
    results = _read_json(args.results, "headline number")
    timings = _read_json(args.timings, "timing")
    text, counts = render(results, timings, args.results.name, args.timings.name)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"Wrote {args.out}: {counts.get(PASS, 0)} pass, {counts.get(MISS, 0)} miss, "
          f"{counts.get(UNCHECKED, 0)} unchecked, {counts.get(NOT_RUN, 0)} not run.")
    if args.strict and (counts.get(MISS) or counts.get(NOT_RUN) or counts.get(UNCHECKED)):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
