"""A progress display for grading runs: done, failed, running, rate and time left.

On a terminal it is a tqdm bar (tqdm is pinned in requirements.txt) on stderr::

    grading 37/120 [04:12<09:20, 8.8 submission/min] failed 1, running 4

Elsewhere (CI logs, files, a Slurm login node's batch session) it writes one line
through the caller's ``log`` when a submission finishes, at most every ``every``
seconds, and always the last one::

    graded 37/120 (failed 1, running 4); 8.8 per minute; about 9 min left

The rate counts only submissions finished during this run of the command (a resumed
run's earlier ones are in the total, not in the rate).
"""
import sys
import time


def _minutes(seconds):
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


class Progress:
    def __init__(self, total, done=0, failed=0, log=print, stream=None, every=15.0,
                 enabled=True, label="grading"):
        self.total, self.start_done = int(total), int(done)
        self.done, self.failed, self.running = int(done), int(failed), 0
        self.log, self.every, self.enabled = log, float(every), enabled
        self.started = time.monotonic()
        self._last_line = 0.0
        self._last_state = None
        stream = sys.stderr if stream is None else stream
        self.bar = None
        if enabled and getattr(stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, initial=self.done, desc=label, unit="submission",
                            file=stream, dynamic_ncols=True, smoothing=0.05,
                            bar_format="{desc} {n_fmt}/{total_fmt} [{elapsed}<{remaining}, "
                                       "{rate_fmt}] {postfix}")
            self.bar.set_postfix_str(self._postfix(), refresh=True)

    def _postfix(self):
        return f"failed {self.failed}, running {self.running}"

    def rate_per_min(self):
        elapsed = time.monotonic() - self.started
        finished = self.done - self.start_done
        return 60.0 * finished / elapsed if elapsed > 0 and finished > 0 else 0.0

    def line(self):
        rate = self.rate_per_min()
        left = self.total - self.done
        eta = f"; about {_minutes(60.0 * left / rate)} left" if rate > 0 and left > 0 else ""
        return (f"graded {self.done}/{self.total} (failed {self.failed}, running {self.running}); "
                f"{rate:.1f} per minute{eta}")

    def update(self, done=None, failed=None, running=None, force=False):
        """Set the absolute counts and redraw (or log a line, see the module docstring)."""
        if done is not None:
            self.done = int(done)
        if failed is not None:
            self.failed = int(failed)
        if running is not None:
            self.running = int(running)
        if not self.enabled:
            return
        if self.bar is not None:
            if self.done > self.bar.n:
                self.bar.update(self.done - self.bar.n)
            self.bar.set_postfix_str(self._postfix(), refresh=True)
            return
        state = (self.done, self.failed, self.running)
        now = time.monotonic()
        changed = state != self._last_state
        if (force and (changed or self._last_state is None)) \
                or (changed and now - self._last_line >= self.every) \
                or (self.done == self.total and changed):
            self.log(self.line())
            self._last_line, self._last_state = now, state

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
