"""nbgrader's filesystem exchange with submissions that only the tutors can read.

nbgrader's own `submit` leaves each submission world-readable (files 0644, its folder
0777) and relies on the inbound folder not being listable and on a random suffix of the
folder's name (nbgrader issues #978, #1174). The course hub (hub/) sets
``c.ExchangeFactory.submit = "grader.exchange.PrivateSubmit"``: after nbgrader's submit,
the submission's folder is 0770. Its group is the tutors' (it inherits the group of the
set-group-id inbound folder, which the grader account owns), so the tutors list, read
and collect it as before; other students cannot enter it even if they learn its name.
"""
import os
import stat

from nbgrader.exchange.default.submit import ExchangeSubmit

FOLDER_MODE = stat.S_IRWXU | stat.S_IRWXG           # 0770: owner and the tutors' group


class PrivateSubmit(ExchangeSubmit):
    """nbgrader submit, then no access for others to the submission in inbound/."""

    def copy_files(self):
        super().copy_files()
        make_private(os.path.join(self.inbound_path, self.assignment_filename))
        self.log.info("Submission readable by you and the course's tutors only")


def make_private(folder):
    """Close ``folder`` (a submission in inbound/) to everyone but its owner and group."""
    os.chmod(folder, FOLDER_MODE)
