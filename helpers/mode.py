"""The run mode every notebook reads in its first cell.

``COURSE_MODE=quick`` (the default: CI, lectures, nbval, grading) subsamples and trains
briefly; ``COURSE_MODE=full`` (``make reproduce``) gives the published numbers.
Right after it the first cell calls :func:`limit_threads`: one BLAS thread in quick mode.
"""
import os

VARIABLE = "COURSE_MODE"
MODES = ("quick", "full")


def current():
    """Return ``"quick"`` or ``"full"`` from ``$COURSE_MODE`` (default quick)."""
    value = os.environ.get(VARIABLE, "quick").strip().lower() or "quick"
    if value not in MODES:
        raise ValueError(f"${VARIABLE} is {value!r}; expected one of {', '.join(MODES)}")
    return value


def is_full():
    """True when the notebook should produce the published (full-mode) numbers."""
    return current() == "full"


def pick(quick, full):
    """Return ``quick`` in quick mode and ``full`` in full mode."""
    return full if is_full() else quick


# Quick mode runs on shared, busy machines (CI, a lecture laptop, a tutor's box with other
# jobs): with one BLAS thread per core, every small matrix product waits for a thread the
# scheduler has parked elsewhere, and the quick notebooks took 3 to 8 times longer under
# load (one busy process on 2 cores: notebook 04 in 118 s instead of 14 s). One thread
# per kernel is as fast on an idle machine at these sizes and stays fast on a busy one;
# the grading sandbox runs student kernels the same way.
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
QUICK_THREADS = 1


def limit_threads(threads=QUICK_THREADS):
    """Quick mode: run BLAS and OpenMP with ``threads`` thread(s) in this process.

    Covers the libraries loaded already (numpy's and scipy's OpenBLAS, scikit-learn's
    OpenMP, through ``threadpoolctl`` when it is installed) and those loaded later (the
    environment variables). Changes nothing in full mode, nor when the environment sets a
    thread count itself (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``).
    Returns the limit applied, or None.
    """
    if is_full() or any(os.environ.get(name, "").strip() for name in THREAD_VARIABLES):
        return None
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:       # only the libraries loaded from now on are limited
        return threads
    threadpool_limits(limits=threads)
    return threads
