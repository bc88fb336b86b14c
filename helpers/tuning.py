"""Choosing a hyper-parameter on a log grid, on the hold-out set (notebook 5).

A value chosen at the edge of its grid says only that the optimum lies at or beyond the
edge. :func:`search_log_grid` therefore widens the grid by one step past that edge and
tries again, until the chosen value lies strictly inside the grid or ``max_widenings``
steps were added; the returned :class:`Search` records what was tried and says so in a
sentence (:meth:`Search.sentence`), so the notebook's text is computed, not assumed.

Grids are usually half-decade ladders (:func:`log_ladder`: 1, 3, 10, 30, ...); widening
keeps to the ladder.
"""
import math
from dataclasses import dataclass, field


def _round(value):
    return float(f"{value:.3g}")


def log_ladder(low, high):
    """Half-decade values 1 and 3 times a power of ten from ``low`` to ``high`` (both
    > 0, inclusive up to rounding): ``log_ladder(1e-3, 0.1) == [0.001, 0.003, 0.01,
    0.03, 0.1]``."""
    if not (0 < low <= high) or not math.isfinite(high):
        raise ValueError(f"need 0 < low <= high, got {low!r}, {high!r}")
    out = []
    for k in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        for m in (1, 3):
            v = _round(m * 10.0**k)
            if low * (1 - 1e-9) <= v <= high * (1 + 1e-9):
                out.append(v)
    return out


def ladder_step(value, up):
    """The next value of the 1-3-10 ladder above (``up``) or below ``value``; for a value
    off the ladder, a step of sqrt(10)."""
    exponent = math.floor(math.log10(value) + 1e-12)
    mantissa = value / 10.0**exponent
    if abs(mantissa - 1) < 1e-6:
        return _round(3 * value) if up else _round(0.3 * value)
    if abs(mantissa - 3) < 1e-6:
        return _round(value * 10 / 3) if up else _round(value / 3)
    factor = math.sqrt(10.0)
    return _round(value * factor if up else value / factor)


def _key(score):
    """Sort key of a score: None (a failed run, e.g. diverged) is the worst."""
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return (0, ())
    return (1, score if isinstance(score, tuple) else (score,))


@dataclass
class Search:
    """The outcome of :func:`search_log_grid`.

    name: what was tuned; initial: the grid asked for; scores: value -> score (None for a
    failed run), every value tried; widened: the values added past an edge, in order;
    best: the chosen value; max_widenings: the limit that applied.
    """

    name: str
    initial: list
    scores: dict = field(default_factory=dict)
    widened: list = field(default_factory=list)
    best: float = None
    max_widenings: int = 0

    @property
    def grid(self):
        """Every value tried, ascending."""
        return sorted(self.scores)

    @property
    def strictly_inside(self):
        """True when the chosen value has a tried neighbour on both sides."""
        grid = self.grid
        return grid[0] < self.best < grid[-1]

    @property
    def edge(self):
        """"bottom" or "top" when the choice sits at that edge of everything tried, else None."""
        if self.strictly_inside:
            return None
        return "bottom" if self.best == self.grid[0] else "top"

    def sentence(self, fmt="{:g}"):
        """One sentence on the choice: inside the grid, after a widening, or still at an edge."""
        f = fmt.format
        span = f"{f(self.initial[0])} ... {f(self.initial[-1])}"
        text = f"{self.name}: chose {f(self.best)}"
        if self.widened:
            text += (f"; the grid {span} was widened past its edge to "
                     + ", ".join(f(v) for v in self.widened))
        if self.strictly_inside:
            text += f", strictly inside the values tried ({f(self.grid[0])} ... {f(self.grid[-1])})."
        else:
            text += (f", still at the {self.edge} edge of the values tried after "
                     f"{len(self.widened)} widening(s) (the limit is {self.max_widenings}): "
                     f"the optimum may lie {'lower' if self.edge == 'bottom' else 'higher'}.")
        return text

    def failed(self):
        """The values whose run failed (score None)."""
        return [v for v in self.grid if _key(self.scores[v])[0] == 0]


def search_log_grid(score, grid, max_widenings=3, name="value"):
    """Evaluate ``score(value)`` on ``grid`` and widen it until the best lies inside.

    score: value -> a number or a tuple (higher is better; ties are broken by the later
    tuple entries, e.g. ``(hold-out accuracy, -hold-out loss)``), or None for a failed run.
    grid: positive values. While the best value is the lowest (highest) one tried and
    fewer than ``max_widenings`` values were added, the next value below (above) on the
    1-3-10 ladder (:func:`ladder_step`) is tried. Returns a :class:`Search`.
    ValueError if every run failed.
    """
    values = sorted(float(v) for v in grid)
    if not values or values[0] <= 0:
        raise ValueError(f"grid must hold positive values, got {grid!r}")
    search = Search(name=name, initial=values, max_widenings=int(max_widenings))
    for v in values:
        search.scores[v] = score(v)
    while True:
        best = max(search.grid, key=lambda v: _key(search.scores[v]))
        if _key(search.scores[best])[0] == 0:
            raise ValueError(f"{name}: every value of the grid failed: {search.grid}")
        search.best = best
        if search.strictly_inside or len(search.widened) >= search.max_widenings:
            return search
        nxt = ladder_step(best, up=(search.edge == "top"))
        search.widened.append(nxt)
        search.scores[nxt] = score(nxt)
