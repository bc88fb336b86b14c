"""Every autograded exercise of docs/interfaces.md, one module per lesson, each exercise
defined in one place (see ``checker.exercise``).

``EXERCISES`` maps each name to its exercise, in lesson order; :func:`get` looks one up
and :func:`cases_for` draws its cases.
"""
from checker.lessons import derivations, logistic, mlp, regularization, softmax

#: Every autograded exercise, by name, in the order the lessons introduce them.
EXERCISES = {exercise.name: exercise
             for lesson in (derivations, logistic, regularization, softmax, mlp)
             for exercise in lesson.EXERCISES}


def get(name):
    """The exercise called ``name``; ValueError naming the exercises when there is none."""
    try:
        return EXERCISES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown exercise {name!r}; the exercises are: "
                         f"{', '.join(sorted(EXERCISES))}") from None


def cases_for(name, seed=None, hidden=False):
    """The list of case dicts of exercise ``name`` for ``$COURSE_CHECK_SEED`` = ``seed``."""
    return get(name).draw_cases(seed, hidden)
