# The course pack's entry points. Every target creates .venv first if needed.
#   make demo       run every solution notebook headless (quick mode) -> build/
#   make test       the whole test suite (kernels, loader, grading round trip, nbval, browser);
#                   first installs missing system packages (bubblewrap, chromium) where allowed
#   make doctor     what this machine has and lacks for each target
#   make lab        JupyterLab on notebooks/ (DIR=solutions for the instructor versions)
#   make reproduce  every solution notebook in full mode -> build/results.json, build/REPORT.md
#   make bench      speed benchmark -> build/bench.json
#   make release | autograde [JOBS=N] [UNSAFE=1] | feedback | grades   (tutors, nbgrader)
#   make autograde BACKEND=local|slurm [JOBS=N] [STUDENT=id] [ASSIGNMENT=a] [NOWAIT=1]
#                  [RESTART=1] [CELLS=all] [PARTITION=p] [ACCOUNT=a]   (grader/backends.py)
#   make gradebook-postgres | gradebook-postgres-stop | gradebook-migrate TO=url
#   make collect FROM=download.zip LMS=canvas|moodle|blackboard [ROSTER=roster.csv] [TIMEZONE=tz]
#   make similarity [THRESHOLD=0.5]  pairs of similar submissions -> build/grading/similarity/
#   make grades FORMAT=canvas|moodle|csv     the file the LMS imports (default csv)
#   make hub COURSE=id ROSTER=roster.csv     a course hub on this machine (root; hub/README.md)
#   COURSE_ROOT=dir   the tutor targets (release ... roster) work on that course folder
#                     (one with nbgrader_config.py) instead of this checkout

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DIR    ?= notebooks
FORMAT ?= csv
GRADER := $(PY) -m grader$(if $(COURSE_ROOT), --root "$(COURSE_ROOT)",)

# MNIST: an explicit MNIST_DIR wins; else the shared copy beside the checkout (tests,
# CI, no network); else helpers.data falls back to data/mnist/ and downloads there.
SHARED_MNIST := $(abspath ../shared/data/mnist)
ifeq ($(origin MNIST_DIR),undefined)
  ifneq ($(wildcard $(SHARED_MNIST)/SHA256SUMS),)
    export MNIST_DIR := $(SHARED_MNIST)
  endif
endif

PHONY_EXTRA := doctor system-packages collect roster hub hub-stop gradebook-postgres gradebook-postgres-stop gradebook-migrate
.PHONY: $(PHONY_EXTRA) venv demo test lab reproduce bench release autograde feedback grades similarity sandbox-check clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course pack)" >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	COURSE_MODE=quick $(PY) -m tools.run_notebooks --mode quick

reproduce: $(STAMP)
	COURSE_MODE=full $(PY) -m tools.run_notebooks --mode full
	$(PY) -m tools.report

test: $(STAMP) system-packages
	$(PY) -m pytest

# apt-get as root or with passwordless sudo; elsewhere one line with the command to run
# (the tests that need the packages then skip with that line as their reason).
system-packages: $(STAMP)
	@$(PY) -m tools.doctor --install

doctor: $(STAMP)
	@$(PY) -m tools.doctor

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=$(DIR)

bench: $(STAMP)
	$(PY) -m bench

release: $(STAMP)
	$(GRADER) release

autograde: $(STAMP)
	$(GRADER) autograde $(if $(JOBS),--jobs $(JOBS),) $(if $(UNSAFE),--unsafe,) \
	  $(if $(BACKEND),--backend $(BACKEND),) $(foreach s,$(STUDENT),--student $(s)) \
	  $(foreach a,$(ASSIGNMENT),--assignment $(a)) $(if $(NOWAIT),--no-wait,) \
	  $(if $(RESTART),--restart,) $(if $(CELLS),--cells $(CELLS),) \
	  $(if $(PARTITION),--partition $(PARTITION),) $(if $(ACCOUNT),--account $(ACCOUNT),)

# The gradebook in PostgreSQL ($$COURSE_DB_URL; grader/gradebook.py): a private trial
# cluster in build/postgres/ (PGDIR=... elsewhere), and the SQLite gradebook copied there.
gradebook-postgres: $(STAMP)
	$(GRADER) gradebook postgres-start $(if $(PGDIR),--dir $(PGDIR),)

gradebook-postgres-stop: $(STAMP)
	$(GRADER) gradebook postgres-stop $(if $(PGDIR),--dir $(PGDIR),)

gradebook-migrate: $(STAMP)
	@test -n "$(TO)" || { echo "usage: make gradebook-migrate TO=postgresql://user@host:port/db"; exit 2; }
	$(GRADER) gradebook migrate --to "$(TO)"

feedback: $(STAMP)
	$(GRADER) feedback

# pairs of similar submissions per assignment (copydetect) -> build/grading/similarity/
similarity: $(STAMP)
	$(GRADER) similarity $(if $(THRESHOLD),--threshold $(THRESHOLD),)

grades: $(STAMP)
	$(GRADER) export --format $(FORMAT) $(if $(ROSTER),--roster $(ROSTER),)

collect: $(STAMP)
	@test -n "$(FROM)" -a -n "$(LMS)" || { echo "usage: make collect FROM=download.zip LMS=canvas|moodle|blackboard [ROSTER=roster.csv] [ASSIGNMENT=a] [TIMEZONE=Europe/London]"; exit 2; }
	$(GRADER) collect "$(FROM)" --lms $(LMS) $(if $(ROSTER),--roster $(ROSTER),) $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT),) $(if $(TIMEZONE),--timezone $(TIMEZONE),)

roster: $(STAMP)
	$(GRADER) roster $(ROSTER)

# The course hub (JupyterHub, real Unix users; run as root): hub/README.md.
# HUB_OPTS: more options of `python -m hub.setup up` (--port, --home-base, --assignments...).
hub: $(STAMP)
	@test -n "$(COURSE)" -a -n "$(ROSTER)" || { echo "usage: sudo make hub COURSE=course-id ROSTER=roster.csv TUTORS=login[,login]"; exit 2; }
	$(PY) -m hub.setup up --course $(COURSE) --roster $(ROSTER) $(if $(TUTORS),--tutors $(TUTORS),) $(if $(HUB_DIR),--dir $(HUB_DIR),) $(HUB_OPTS)

hub-stop: $(STAMP)
	$(PY) -m hub.setup down $(if $(HUB_DIR),--dir $(HUB_DIR),)

sandbox-check: $(STAMP)
	$(PY) -m grader.sandbox check

clean:
	rm -rf build
