"""checker: check() in normal and grading mode, the payload encoding (checker.wire), the
one verdict path (checker.judge.judge_payload) and the verdicts on the correct and wrong
solutions of tests/mistakes.py. Hidden checks run only with a seed the grader hands to
the test cell (checker.wire.receive_hidden_seeds); :func:`graded_hidden` does what the
grader does."""
import base64
import json
import re

import numpy as np
import pytest

import mistakes
from checker import CheckFailed, check, wire
from checker.judge import judge_payload, verify
from checker.lessons import EXERCISES
from checker.runner import StudentError, collect_outputs
from checker.wire import PAYLOAD_MIME, build_payload, decode_outputs, encode_outputs

# wrong student code overflows and divides by zero on purpose
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

ALL_MISTAKES = [m for ms in mistakes.MISTAKES.values() for m in ms]


@pytest.fixture(autouse=True)
def normal_mode(monkeypatch):
    monkeypatch.delenv("COURSE_GRADING", raising=False)
    monkeypatch.delenv("COURSE_CHECK_SEED", raising=False)
    wire._HIDDEN_SEEDS.clear()
    yield
    wire._HIDDEN_SEEDS.clear()


def graded_hidden(monkeypatch, exercise, functions, seed="hidden-7f3a"):
    """The verdict of ``check(exercise, *functions, hidden=True)`` as the grader reaches
    it: the hidden seed handed over, the check run in grading mode, its payload judged."""
    shown = []
    import IPython.display
    with monkeypatch.context() as m:
        m.setenv("COURSE_GRADING", "1")
        m.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
        wire.receive_hidden_seeds({exercise: seed})
        assert check(exercise, *functions, hidden=True) is None
    assert len(shown) == 1, "a hidden check with its seed leaves exactly one payload"
    payload = json.loads(json.dumps(shown[0][PAYLOAD_MIME], allow_nan=False))
    assert payload["seed"] == seed and payload["hidden"] is True
    return judge_payload(payload, exercise, True, seed)


def test_every_exercise_has_a_correct_solution_and_mistakes():
    assert set(mistakes.CORRECT) == set(EXERCISES)
    for name, functions in mistakes.CORRECT.items():
        assert [f.__name__ for f in functions] == list(EXERCISES[name].functions)
    assert set(mistakes.MISTAKES) == set(EXERCISES)
    for m in ALL_MISTAKES:
        assert m.__doc__ and m.__doc__.startswith("Mistake"), m.__name__
        assert "import numpy as np" in mistakes.student_source(m) or "np." not in \
            mistakes.student_source(m), m.__name__


# ------------------------------------------------------------------- correct code

@pytest.mark.parametrize("name", sorted(mistakes.CORRECT))
def test_correct_solutions_pass_visible_hidden_and_random_seeds(name, monkeypatch, capsys):
    functions = mistakes.CORRECT[name]
    pattern = rf"{name}: \d+ random cases passed \((max relative error \S+, bound 1e-06|" \
              r"exact match|all properties hold)\)"
    for seed in (None, "31337", "8"):
        if seed:
            monkeypatch.setenv("COURSE_CHECK_SEED", seed)
        check(name, *functions)
        line = capsys.readouterr().out.strip()
        assert re.fullmatch(pattern, line), line
        verdict = graded_hidden(monkeypatch, name, functions, seed=f"hidden-{seed}")
        assert verdict.passed and re.fullmatch(pattern, verdict.message), verdict.message


def test_the_judge_draws_a_checks_reference_once_and_reuses_it(monkeypatch):
    """A grading run judges every submission with the same seeds: the judge draws the
    cases of a (exercise, seed, hidden) once and gives the same verdict from them again."""
    from checker import judge

    monkeypatch.setattr(judge, "_REFERENCES", {})
    drawn = []
    real = judge.cases_for
    monkeypatch.setattr(judge, "cases_for",
                        lambda *key: drawn.append(key) or real(*key))
    name, functions = "early_stopping_gd", mistakes.CORRECT["early_stopping_gd"]
    exercise = EXERCISES[name]
    verdicts = []
    for hidden in (False, True, False, True):
        outputs = collect_outputs(exercise, functions, "11", hidden)
        verdicts.append(verify(name, "11", hidden, outputs))
    assert drawn == [(name, "11", False), (name, "11", True)]
    assert verdicts[:2] == verdicts[2:] and all(v.passed for v in verdicts)
    assert judge.prepare_reference(name, "12", True) is judge._reference(name, "12", True)
    assert len(drawn) == 3


@pytest.mark.parametrize("order", ["mistake first", "correct first"])
def test_code_that_changes_its_inputs_never_reaches_the_judges_reference(monkeypatch, order):
    """The cases a check runs the student's code on are drawn afresh, not the judge's
    kept ones: a function that changes its input in place is caught however often the
    reference was used, and the correct code that follows it still passes."""
    from checker import judge

    monkeypatch.setattr(judge, "_REFERENCES", {})
    exercise = EXERCISES["softmax"]
    runs = [(mistakes.softmax_global_max_in_place, False), (mistakes.CORRECT["softmax"][0], True)]
    if order == "correct first":
        runs.reverse()
    for _ in range(2):
        for function, passes in runs:
            verdict = verify("softmax", "5", False, collect_outputs(exercise, [function], "5"))
            assert verdict.passed is passes, verdict.message
            assert passes or "in place" in verdict.message, verdict.message


def test_a_hidden_check_runs_nothing_without_the_graders_seed(monkeypatch, capsys):
    """In the student's own notebook (normal mode) and in any cell of the graded one that
    the grader did not hand a seed to, hidden=True checks nothing and says so: no verdict
    (a wrong function is not reported), no payload, nothing reproduces the hidden cases."""
    wrong = mistakes.MISTAKES["relu"][0]
    functions = mistakes.as_student_functions(wrong)
    assert check("relu", *functions, hidden=True) is None        # normal mode: no verdict
    assert "hidden check not run here" in capsys.readouterr().out
    wire.receive_hidden_seeds({"relu": "a-seed"})                 # even with a seed lying
    assert check("relu", *functions, hidden=True) is None        # around, outside grading
    assert "hidden check not run here" in capsys.readouterr().out
    wire._HIDDEN_SEEDS.clear()
    shown = []
    import IPython.display
    monkeypatch.setenv("COURSE_GRADING", "1")
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    check("relu", *functions, hidden=True)                       # grading, no seed handed
    assert shown == []
    wire.receive_hidden_seeds({"relu": "s1"})
    check("relu", *functions, hidden=True)                       # the seed serves one check
    check("relu", *functions, hidden=True)
    assert len(shown) == 1 and shown[0][PAYLOAD_MIME]["seed"] == "s1"


def test_the_hidden_seed_is_not_in_the_environment_and_is_checked(monkeypatch):
    """A hidden payload judged with another seed than the grader's fails with a flag, and
    the visible seed of the environment tells nothing of the hidden cases."""
    monkeypatch.setenv("COURSE_CHECK_SEED", "4242")
    functions = mistakes.CORRECT["sigmoid"]
    shown = []
    import IPython.display
    monkeypatch.setenv("COURSE_GRADING", "1")
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    wire.receive_hidden_seeds({"sigmoid": "grader-only"})
    check("sigmoid", *functions, hidden=True)
    payload = shown[0][PAYLOAD_MIME]
    assert judge_payload(payload, "sigmoid", True, "grader-only").passed
    forged = judge_payload(payload, "sigmoid", True, "4242")
    assert not forged.passed and "not the grader's" in forged.flag
    assert "grader-only" not in forged.flag     # the same flag whatever the run's seeds


@pytest.mark.parametrize("bad", [None, ["sigmoid"], {"sigmoid": 3}, {"sigmoid": ""},
                                 {1: "seed"}])
def test_receive_hidden_seeds_takes_only_a_dict_of_strings(bad):
    with pytest.raises(ValueError):
        wire.receive_hidden_seeds(bad)


def test_the_pasted_source_of_a_correct_solution_works_alone(capsys):
    namespace = {}
    exec(mistakes.student_source(mistakes.softmax_loss_grad), namespace)
    check("softmax_loss_grad", namespace["softmax_loss_grad"])
    assert "passed" in capsys.readouterr().out


# ------------------------------------------------------------------ wrong code

@pytest.mark.parametrize("func", [m for m in ALL_MISTAKES if not (m.hard_coded or m.hidden_only)],
                         ids=lambda m: m.__name__)
def test_every_mistake_fails_with_its_diagnosis(func):
    with pytest.raises(CheckFailed) as info:
        check(func.exercise, *mistakes.as_student_functions(func))
    message = str(info.value)
    assert message.startswith(f"{func.exercise}: case ")
    if func.diagnosis:
        assert func.diagnosis in message, message


@pytest.mark.parametrize("func", [m for m in ALL_MISTAKES if not m.hard_coded],
                         ids=lambda m: m.__name__)
def test_every_mistake_fails_the_hidden_check_too(func, monkeypatch):
    for seed in ("hidden-1", "hidden-2"):
        verdict = graded_hidden(monkeypatch, func.exercise,
                                mistakes.as_student_functions(func), seed=seed)
        assert not verdict.passed and verdict.message.startswith(f"{func.exercise}: case ")
        if func.hidden_only and func.diagnosis:
            assert func.diagnosis in verdict.message, verdict.message


@pytest.mark.parametrize("func", [m for m in ALL_MISTAKES if not m.hard_coded],
                         ids=lambda m: m.__name__)
def test_pasted_mistake_source_behaves_like_the_function(func, monkeypatch):
    namespace = {}
    exec(mistakes.student_source(func), namespace)
    pasted = namespace[func.replaces]
    functions = tuple(pasted if f is func else f for f in mistakes.as_student_functions(func))
    if func.hidden_only:
        assert not graded_hidden(monkeypatch, func.exercise, functions).passed
    else:
        with pytest.raises(CheckFailed):
            check(func.exercise, *functions)


def test_a_hard_coded_answer_passes_only_the_seed_it_was_captured_from(monkeypatch, capsys):
    hard = [m for m in ALL_MISTAKES if m.hard_coded]
    assert hard
    for func in hard:
        check(func.exercise, *mistakes.as_student_functions(func))      # default visible seed
        assert "passed" in capsys.readouterr().out
        assert not graded_hidden(monkeypatch, func.exercise,
                                 mistakes.as_student_functions(func)).passed
        monkeypatch.setenv("COURSE_CHECK_SEED", "271828")
        with pytest.raises(CheckFailed) as info:
            check(func.exercise, *mistakes.as_student_functions(func))
        assert "raised KeyError" in str(info.value)
        monkeypatch.delenv("COURSE_CHECK_SEED")


def test_a_failure_message_shows_the_case_excerpts_and_error():
    with pytest.raises(CheckFailed) as info:
        check("logistic_loss_grad", mistakes.logistic_loss_grad_no_mean)
    message = str(info.value)
    assert "case 1 of" in message and "N=" in message
    assert "expected: [" in message and "got: [" in message
    assert re.search(r"relative error \d\.\d\de-?\d+ > 1e-06", message)
    assert "likely mistake: dw: a missing 1/N" in message


def test_an_exception_in_student_code_is_reported_with_its_line():
    def sigmoid(z):
        return np.exp(z) / undefined_name  # noqa: F821
    with pytest.raises(CheckFailed) as info:
        check("sigmoid", sigmoid)
    assert "sigmoid raised NameError" in str(info.value)
    assert "undefined_name" in str(info.value)


@pytest.mark.parametrize("args,error", [
    (("no_such_exercise", len), ValueError),
    (("dense", mistakes.dense_forward), TypeError),               # one of two functions
    (("sigmoid", "sigmoid"), TypeError),                          # not callable
    (("sigmoid", mistakes.sigmoid, mistakes.sigmoid), TypeError),
])
def test_wrong_calls_raise_clear_errors(args, error):
    with pytest.raises(error) as info:
        check(*args)
    assert "sigmoid" in str(info.value) or "dense" in str(info.value) or \
        "no_such_exercise" in str(info.value)


def test_hidden_must_be_a_bool():
    with pytest.raises(TypeError):
        check("sigmoid", mistakes.sigmoid, hidden="yes")


# ------------------------------------------------------------------ grading mode

def _grading_payload(monkeypatch, exercise, functions, hidden=False, seed="4242"):
    """Run check() in grading mode and return the payload it displayed (JSON round trip);
    a hidden check gets ``seed`` handed over as the grader does."""
    shown = []
    monkeypatch.setenv("COURSE_GRADING", "1")
    monkeypatch.setenv("COURSE_CHECK_SEED", seed)
    if hidden:
        wire.receive_hidden_seeds({exercise: seed})
    import IPython.display
    monkeypatch.setattr(IPython.display, "display",
                        lambda obj, raw=False: shown.append((obj, raw)))
    assert check(exercise, *functions, hidden=hidden) is None        # never raises
    monkeypatch.delenv("COURSE_GRADING")
    assert len(shown) == 1
    data, raw = shown[0]
    assert raw and set(data) == {PAYLOAD_MIME, "text/plain"}
    payload = json.loads(json.dumps(data[PAYLOAD_MIME], allow_nan=False))  # strict JSON
    assert set(payload) == {"exercise", "hidden", "seed", "outputs"}
    assert payload["exercise"] == exercise and payload["hidden"] is hidden
    assert payload["seed"] == seed
    return payload


def _normal_verdict(monkeypatch, exercise, functions, hidden=False, seed="4242"):
    monkeypatch.setenv("COURSE_CHECK_SEED", seed)
    try:
        check(exercise, *functions, hidden=hidden)
        return True, None
    except CheckFailed as exc:
        return False, str(exc)


@pytest.mark.parametrize("func", ALL_MISTAKES, ids=lambda m: m.__name__)
def test_grading_mode_payload_gives_the_normal_mode_verdict_for_mistakes(func, monkeypatch,
                                                                         capsys):
    functions = mistakes.as_student_functions(func)
    payload = _grading_payload(monkeypatch, func.exercise, functions)
    graded = judge_payload(payload, func.exercise, False, "4242")   # as the grader does
    passed, message = _normal_verdict(monkeypatch, func.exercise, functions)
    assert graded.passed == passed
    assert func.hidden_only or not passed
    assert graded.message == (message or graded.message)


@pytest.mark.parametrize("name", sorted(mistakes.CORRECT))
def test_grading_mode_payload_passes_correct_solutions(name, monkeypatch, capsys):
    for hidden in (False, True):
        payload = _grading_payload(monkeypatch, name, mistakes.CORRECT[name], hidden=hidden)
        verdict = judge_payload(payload, name, hidden, "4242")   # as the grader does
        assert verdict.passed, verdict.message
        again = verify(name, payload["seed"], hidden, decode_outputs(payload["outputs"]))
        assert again == verdict


def test_grading_mode_prints_no_verdict(monkeypatch, capsys):
    _grading_payload(monkeypatch, "sigmoid", (mistakes.sigmoid_exp_ratio,))
    assert "passed" not in capsys.readouterr().out


# ---------------------------------------------------------------- tampering

def _good_payload(name="softmax_loss_grad", seed="99"):
    outputs = collect_outputs(EXERCISES[name], mistakes.CORRECT[name], seed, False)
    return json.loads(json.dumps(build_payload(name, False, seed, outputs)))


def _judged(payload, name="softmax_loss_grad", seed="99"):
    """The verdict the grader gives ``payload`` for the visible check of ``name``."""
    return judge_payload(payload, name, False, seed)


def test_the_untampered_payload_passes():
    verdict = _judged(_good_payload())
    assert verdict.passed and verdict.flag is None


def _set_array(enc, value):
    """Replace an encoded array's data/shape/dtype by those of ``value``."""
    enc.update(encode_outputs(np.asarray(value)))


@pytest.mark.parametrize("tamper,words", [
    (lambda p: p["outputs"].pop(), "expected 3 cases, got 2"),
    (lambda p: p["outputs"].append(p["outputs"][0]), "expected 3 cases, got 4"),
    (lambda p: p.__setitem__("outputs", {}), "could not be decoded"),
    (lambda p: p.__setitem__("outputs", "text"), "expected a list"),
    (lambda p: p["outputs"].__setitem__(0, "a string"), "malformed output"),
    (lambda p: p["outputs"][0]["__dict__"].__setitem__("dW", "text"), "dW: expected"),
    (lambda p: p["outputs"][0]["__dict__"].__setitem__("dW", {"__float__": "nan"}), "dW"),
    (lambda p: _set_array(p["outputs"][0]["__dict__"]["dW"], np.zeros((2, 2))),
     "expected shape"),
    (lambda p: _set_array(p["outputs"][0]["__dict__"]["dW"],
                          np.full(decode_outputs(p["outputs"][0]["__dict__"]["dW"]).shape,
                                  np.nan)), "NaN/inf"),
    (lambda p: p["outputs"][0]["__dict__"]["dW"].__setitem__("shape", [10**9, 10**9]),
     "exceeds"),
    (lambda p: p["outputs"][0]["__dict__"]["dW"].__setitem__("shape", [-1, 2]),
     "bad array shape"),
    (lambda p: p["outputs"][0]["__dict__"]["dW"].__setitem__("dtype", "|O"), "dtype"),
    (lambda p: p["outputs"][0]["__dict__"]["dW"].__setitem__("dtype", ">f8"), "little-endian"),
    (lambda p: p["outputs"][0]["__dict__"]["dW"].__setitem__("__ndarray__", "!!!!"),
     "does not match"),
    (lambda p: p["outputs"][0]["__dict__"].pop("loss"), "missing ['loss']"),
    (lambda p: p.__setitem__("exercise", "no_such_exercise"), "belongs to another check"),
    (lambda p: p.__setitem__("hidden", "no"), "belongs to another check"),
    (lambda p: p.pop("seed"), "another seed"),
    (lambda p: p.__setitem__("seed", "100"), "another seed"),
])
def test_tampered_payloads_fail_cleanly(tamper, words):
    payload = _good_payload()
    tamper(payload)
    verdict = _judged(payload)
    assert not verdict.passed
    assert words in verdict.message, verdict.message


def test_a_non_dict_payload_fails_cleanly():
    for payload in (None, [], "x", 3):
        verdict = _judged(payload)
        assert not verdict.passed and "malformed check result" in verdict.flag


# ------------------------------------------------------------------- encoding

def test_encoding_round_trips_everything_a_student_may_return():
    value = {"a": np.arange(6, dtype=np.int32).reshape(2, 3),
             "b": (np.float64(1.5), 2, None, True, "s", [np.float32(2.0)]),
             "c": [np.array(3.0), np.zeros((0, 4)), np.array([1, 2], dtype=">i8")],
             "d": float("nan"), "e": float("-inf"), "f": StudentError("raised X"),
             "g": np.array([True, False])}
    enc = encode_outputs(value)
    json.dumps(enc, allow_nan=False)                   # strict JSON, no NaN literals
    dec = decode_outputs(json.loads(json.dumps(enc)))
    assert dec["a"].dtype == np.int32 and np.array_equal(dec["a"], value["a"])
    assert isinstance(dec["b"], tuple) and dec["b"][1:5] == (2, None, True, "s")
    assert dec["b"][0].shape == () and float(dec["b"][0]) == 1.5
    assert dec["b"][5][0].dtype == np.float32
    assert dec["c"][1].shape == (0, 4)
    assert np.array_equal(dec["c"][2], [1, 2]) and dec["c"][2].dtype == np.int64
    assert np.isnan(dec["d"]) and dec["e"] == float("-inf")
    assert dec["f"] == StudentError("raised X")
    assert dec["g"].dtype == bool
    assert dec["a"].flags.writeable


def test_unsupported_objects_are_encoded_as_markers_and_judged_wrong():
    enc = encode_outputs([object(), np.array(["x"]), {1: 2}, 1j])
    dec = decode_outputs(enc)
    assert all(isinstance(d, StudentError) for d in dec)
    assert "object" in dec[0].message


@pytest.mark.parametrize("bad,words", [
    ({"__ndarray__": "", "dtype": "<f8", "shape": [2**40, 2**40]}, "exceeds"),
    ({"__ndarray__": "", "dtype": "<f8", "shape": [True]}, "bad array shape"),
    ({"__ndarray__": "", "dtype": "<f8", "shape": [1] * 9}, "bad array shape"),
    ({"__ndarray__": "", "dtype": "<U4", "shape": [1]}, "not a little-endian"),
    ({"__ndarray__": "", "dtype": "V16", "shape": [1]}, "not a little-endian"),
    ({"__ndarray__": "", "dtype": "no-such", "shape": [1]}, "bad array dtype"),
    ({"__ndarray__": 5, "dtype": "<f8", "shape": [1]}, "does not match"),
    ({"__ndarray__": "AAAA", "dtype": "<f8", "shape": [1]}, "does not match"),
    ({"__ndarray__": "AAAAAAA=AAAA", "dtype": "<f8", "shape": [1]}, "base64"),
    ({"__ndarray__": "", "dtype": "<f8", "shape": [1], "x": 1}, "unexpected object"),
    ({"__float__": "1e999"}, "__float__"),
    ({"__tuple__": "ab"}, "__tuple__"),
    ({"__dict__": []}, "__dict__"),
    ({"__error__": 3}, "__error__"),
    ({"__weird__": 1}, "unexpected object"),
    ("x" * 20_000, "string longer"),
    (3 + 4j, "unexpected value"),
])
def test_malformed_encodings_raise_value_error(bad, words):
    with pytest.raises(ValueError) as info:
        decode_outputs(bad)
    assert words in str(info.value)


def test_total_size_and_nesting_are_capped(monkeypatch):
    monkeypatch.setattr(wire, "MAX_TOTAL_BYTES", 1000)
    enc = encode_outputs([np.zeros(100)] * 2)           # 1600 bytes in all
    with pytest.raises(ValueError, match="in all"):
        decode_outputs(enc)
    deep = []
    for _ in range(50):
        deep = [deep]
    with pytest.raises(ValueError, match="nesting"):
        decode_outputs(deep)
    with pytest.raises(ValueError, match="too many"):
        decode_outputs([0] * (wire.MAX_NODES + 1))


def test_oversized_outputs_fail_the_check_instead_of_bloating_the_notebook(monkeypatch):
    monkeypatch.setattr(wire, "MAX_ARRAY_BYTES", 64)
    assert isinstance(decode_outputs(encode_outputs(np.zeros(100))), StudentError)

    def sigmoid(z):
        return np.zeros(1000)
    with pytest.raises(CheckFailed, match="returned an array of shape"):
        check("sigmoid", sigmoid)
    monkeypatch.setattr(wire, "MAX_NODES", 10)

    def listy(z):
        return [0.0] * 50
    with pytest.raises(CheckFailed, match="cannot be recorded for grading: too many values"):
        check("sigmoid", listy)


def test_encoded_arrays_are_little_endian_base64():
    enc = encode_outputs(np.array([1.0, 2.0], dtype=">f8"))
    assert enc["dtype"] == "<f8" and enc["shape"] == [2]
    assert base64.b64decode(enc["__ndarray__"]) == np.array([1.0, 2.0], dtype="<f8").tobytes()
