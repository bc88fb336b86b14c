"""What travels from a test cell in the grading sandbox to the grader.

The grader sets ``$COURSE_GRADING=1`` and ``$COURSE_CHECK_SEED`` (a fresh random seed per
run) in the student's kernel. There ``check`` decides nothing: it emits one IPython
``display_data`` output of MIME type :data:`PAYLOAD_MIME` holding
``{"exercise", "hidden", "seed", "outputs"}`` (:func:`build_payload`, :func:`emit`), and
the grader judges it in its own process (``checker.judge.judge_payload``), where the
student's code cannot patch anything.

The hidden checks' seeds are not in that environment: the grader derives one per
exercise from a key of its own (``grader.preprocessors.hidden_seed``) and hands it to
the kernel only in the test cell that runs that hidden check, by running
:func:`receive_hidden_seeds` just before the cell's own code. ``check(..., hidden=True)``
takes its exercise's seed (:func:`take_hidden_seed`, once); without one (a student's own
call, in their notebook or in an earlier cell of the graded one) the hidden check runs
nothing. So no code of the student's, which runs before the hidden cells, can draw the
hidden cases of a grading run, and no call of theirs reproduces them.

Outputs travel as JSON (:func:`encode_outputs` / :func:`decode_outputs`): arrays as
base64 little-endian bytes with dtype and shape. Decoding never trusts its input: anything
malformed raises ``ValueError`` with a clear message, and declared array sizes are capped.
Normal mode sends its outputs through the same encoding, so both modes judge exactly the
same data and reach the same verdict.
"""
import base64
import binascii
import math
import numbers
import os

import numpy as np

from checker.runner import StudentError

#: MIME type of the grading-mode payload.
PAYLOAD_MIME = "application/vnd.coursepack.check+json"
#: Environment variables the grader sets in the student's kernel.
GRADING_VARIABLE = "COURSE_GRADING"
SEED_VARIABLE = "COURSE_CHECK_SEED"

#: Caps applied when decoding (a payload is untrusted data).
MAX_ARRAY_BYTES = 8 * 2**20
MAX_TOTAL_BYTES = 32 * 2**20
MAX_DEPTH = 12
MAX_NODES = 100_000
MAX_STRING = 10_000
_ALLOWED_KINDS = "biuf"


def grading_mode():
    """True inside the grader's kernel (``$COURSE_GRADING`` is 1)."""
    return os.environ.get(GRADING_VARIABLE, "").strip() == "1"


def course_seed():
    """The grader's ``$COURSE_CHECK_SEED`` (a string), or None when it is not set."""
    return os.environ.get(SEED_VARIABLE) or None


#: Hidden seeds handed over by the grader for the test cell running now: exercise -> seed.
_HIDDEN_SEEDS = {}


def receive_hidden_seeds(seeds):
    """Keep the grader's hidden seeds ``{exercise: seed}`` for the next hidden checks of
    those exercises (the grader runs this at the top of a test cell; never a student's
    code: ``grader.flags`` flags any use of it). ValueError for anything but a dict of
    short strings."""
    if not isinstance(seeds, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and 0 < len(v) <= 200
            for k, v in seeds.items()):
        raise ValueError("hidden seeds must be a dict of exercise names to seed strings")
    _HIDDEN_SEEDS.update(seeds)


def take_hidden_seed(exercise):
    """The hidden seed the grader handed over for ``exercise`` (removed: it serves one
    check), or None when there is none."""
    return _HIDDEN_SEEDS.pop(exercise, None)


def build_payload(exercise, hidden, seed, outputs):
    """The JSON-safe grading-mode payload: exercise, hidden, seed and encoded outputs."""
    return {"exercise": exercise, "hidden": bool(hidden),
            "seed": None if seed is None else str(seed), "outputs": encode_outputs(outputs)}


def emit(payload):
    """Show ``payload`` as the cell's output for the grader (inside a kernel only)."""
    from IPython.display import display  # only in grading mode, inside a kernel
    text = (f"{payload['exercise']}: outputs recorded for grading "
            f"({'hidden' if payload['hidden'] else 'visible'} check)")
    display({PAYLOAD_MIME: payload, "text/plain": text}, raw=True)


# ------------------------------------------------------------------------ encoding

def encode_outputs(obj):
    """Encode outputs as JSON-safe data.

    ndarray -> {"__ndarray__": base64 of little-endian bytes, "dtype", "shape"};
    numpy scalar -> a 0-d array; tuple -> {"__tuple__": [...]}; dict (string keys) ->
    {"__dict__": {...}}; list, str, bool, int, None as themselves; float as itself, or
    {"__float__": "nan" | "inf" | "-inf"}; StudentError -> {"__error__": message};
    anything else -> {"__unsupported__": type name}, which verify reports as a wrong type.
    """
    return _encode(obj, 0)


def _encode(obj, depth):
    if depth > MAX_DEPTH:
        return {"__unsupported__": "nesting too deep"}
    if obj is None or isinstance(obj, (bool, str)):
        return obj if not isinstance(obj, str) else obj[:MAX_STRING]
    if isinstance(obj, StudentError):
        return {"__error__": str(obj.message)[:MAX_STRING]}
    if isinstance(obj, np.generic) and obj.dtype.kind in _ALLOWED_KINDS:
        obj = np.asarray(obj)
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in _ALLOWED_KINDS:
            return {"__unsupported__": f"ndarray of dtype {obj.dtype}"}
        if obj.nbytes > MAX_ARRAY_BYTES:
            return {"__unsupported__": f"an array of shape {obj.shape} "
                                       f"(over {MAX_ARRAY_BYTES} bytes)"}
        little = obj.astype(obj.dtype.newbyteorder("<"), copy=False)
        return {"__ndarray__": base64.b64encode(np.ascontiguousarray(little).tobytes())
                .decode("ascii"), "dtype": little.dtype.str, "shape": list(obj.shape)}
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        value = float(obj)
        if math.isfinite(value):
            return value
        return {"__float__": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(item, depth + 1) for item in obj]}
    if isinstance(obj, list):
        return [_encode(item, depth + 1) for item in obj]
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            return {"__unsupported__": "dict with non-string keys"}
        return {"__dict__": {k: _encode(v, depth + 1) for k, v in obj.items()}}
    return {"__unsupported__": type(obj).__name__}


def decode_outputs(obj):
    """Inverse of :func:`encode_outputs`, defensive: raises ValueError on malformed data.

    Arrays are capped at MAX_ARRAY_BYTES each and MAX_TOTAL_BYTES in all, checked against
    the declared dtype and shape *before* decoding; nesting and node counts are capped.
    """
    state = {"bytes": 0, "nodes": 0}
    return _decode(obj, 0, state)


def _decode(obj, depth, state):
    state["nodes"] += 1
    if state["nodes"] > MAX_NODES:
        raise ValueError(f"too many values (more than {MAX_NODES})")
    if depth > MAX_DEPTH + 2:
        raise ValueError(f"nesting deeper than {MAX_DEPTH}")
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, str):
        if len(obj) > MAX_STRING:
            raise ValueError(f"a string longer than {MAX_STRING} characters")
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj
    if isinstance(obj, list):
        return [_decode(item, depth + 1, state) for item in obj]
    if not isinstance(obj, dict):
        raise ValueError(f"unexpected value of type {type(obj).__name__}")
    if len(obj) == 1:
        (key, value), = obj.items()
        if key == "__tuple__":
            if not isinstance(value, list):
                raise ValueError("__tuple__ must hold a list")
            return tuple(_decode(item, depth + 1, state) for item in value)
        if key == "__dict__":
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise ValueError("__dict__ must hold an object with string keys")
            return {k: _decode(v, depth + 1, state) for k, v in value.items()}
        if key == "__float__":
            if value not in ("nan", "inf", "-inf"):
                raise ValueError(f"__float__ must be 'nan', 'inf' or '-inf', got {value!r}")
            return float(value)
        if key == "__error__":
            if not isinstance(value, str) or len(value) > MAX_STRING:
                raise ValueError("__error__ must hold a (short) string")
            return StudentError(value)
        if key == "__unsupported__":
            if not isinstance(value, str) or len(value) > 200:
                raise ValueError("__unsupported__ must hold a short string")
            return StudentError(f"returned {value}, which is not a number, an array, a "
                                "tuple, a list or a dict of those")
    if set(obj) == {"__ndarray__", "dtype", "shape"}:
        return _decode_array(obj, state)
    raise ValueError(f"unexpected object with keys {sorted(obj)[:5]}")


def _decode_array(obj, state):
    data, dtype, shape = obj["__ndarray__"], obj["dtype"], obj["shape"]
    if not isinstance(dtype, str) or len(dtype) > 8:
        raise ValueError(f"bad array dtype {dtype!r}")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"bad array dtype {dtype!r}") from None
    if dt.kind not in _ALLOWED_KINDS or dt.itemsize > 16 or dt.byteorder == ">" \
            or dt.fields is not None or dt.subdtype is not None:
        raise ValueError(f"array dtype {dtype!r} is not a little-endian bool/int/float type")
    if not isinstance(shape, list) or len(shape) > 8 or not all(
            isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in shape):
        raise ValueError(f"bad array shape {shape!r}")
    size = 1
    for n in shape:  # Python integers: no overflow, stop as soon as it is too big
        size *= n
        if size * dt.itemsize > MAX_ARRAY_BYTES:
            raise ValueError(f"array of declared shape {tuple(shape)} exceeds "
                             f"{MAX_ARRAY_BYTES} bytes")
    nbytes = size * dt.itemsize
    state["bytes"] += nbytes
    if state["bytes"] > MAX_TOTAL_BYTES:
        raise ValueError(f"arrays exceed {MAX_TOTAL_BYTES} bytes in all")
    if not isinstance(data, str) or len(data) != 4 * math.ceil(nbytes / 3):
        raise ValueError(f"array data does not match its declared shape {tuple(shape)} "
                         f"and dtype {dtype}")
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("array data is not valid base64") from None
    if len(raw) != nbytes:
        raise ValueError(f"array data holds {len(raw)} bytes, the declared shape needs {nbytes}")
    return np.frombuffer(raw, dtype=dt).reshape(shape).astype(dt.newbyteorder("="))
