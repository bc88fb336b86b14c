"""grader.settings: every environment variable the grader reads, by one rule per kind."""
import os

import pytest

from grader import settings


@pytest.mark.parametrize("raw, expected", [(None, True), ("", True), ("  ", True), ("1", True),
                                           ("YES", True), ("true", True), ("0", False),
                                           ("no", False), (" False ", False)])
def test_the_preload_switch_reads_yes_and_no(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv(settings.GRADING_PRELOAD, raising=False)
    else:
        monkeypatch.setenv(settings.GRADING_PRELOAD, raw)
    assert settings.grading_preload() is expected


@pytest.mark.parametrize("raw", ["2", "off", "yes please"])
def test_a_switch_that_is_neither_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv(settings.GRADING_PRELOAD, raw)
    with pytest.raises(ValueError, match=rf"\$COURSE_GRADING_PRELOAD is '{raw}'; expected 1 or 0"):
        settings.grading_preload()


@pytest.mark.parametrize("raw", ["0", "-5", "ten"])
def test_a_number_that_is_not_positive_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv(settings.CELL_TIMEOUT, raw)
    with pytest.raises(ValueError, match=r"\$COURSE_CELL_TIMEOUT is .*positive number of seconds"):
        settings.cell_timeout()
    monkeypatch.setenv(settings.CELL_TIMEOUT, "")
    assert settings.cell_timeout() == settings.DEFAULT_CELL_TIMEOUT


def test_environ_sets_and_restores_even_when_the_block_fails(monkeypatch):
    monkeypatch.setenv("COURSE_TEST_SET", "before")
    monkeypatch.delenv("COURSE_TEST_UNSET", raising=False)
    with pytest.raises(RuntimeError):
        with settings.environ({"COURSE_TEST_SET": "inside", "COURSE_TEST_UNSET": "inside"}):
            assert os.environ["COURSE_TEST_SET"] == os.environ["COURSE_TEST_UNSET"] == "inside"
            raise RuntimeError("the block fails")
    assert os.environ["COURSE_TEST_SET"] == "before" and "COURSE_TEST_UNSET" not in os.environ
