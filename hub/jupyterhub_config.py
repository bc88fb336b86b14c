"""JupyterHub configuration of a course hub (written by `make hub`, read by `jupyterhub -f`).

Everything course-specific comes from state/course.json beside this file, which
`python -m hub.setup up` writes from the course id and the roster. Read hub/README.md.

- Users are real Unix users, spawned by the LocalProcessSpawner (the hub runs as root).
- Groups: formgrade-<course> (tutors, and the grader account that runs the formgrader
  service: a hub user nobody may log in as),
  nbgrader-<course> (students: fetch, submit, feedback). nbgrader's JupyterHubAuthPlugin
  asks the hub for a user's groups, so a student removed from the group is refused.
- The formgrader is the hub service <course>: a single-user server run as the grader
  account in the course folder; only formgrade-<course> may open it.
"""
import json
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATE = HERE / "state"
course = json.loads((STATE / "course.json").read_text(encoding="utf-8"))

c = get_config()  # noqa: F821

COURSE = course["course"]
VENV = Path(course["venv"])
SINGLEUSER = str(VENV / "bin" / "jupyterhub-singleuser")
PATH = f"{VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin"

# --- where it listens, where it keeps its state ------------------------------------------
c.JupyterHub.ip = course.get("ip", "127.0.0.1")
c.JupyterHub.port = course["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = course["hub_port"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{course['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [course["proxy"]]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True        # stopping the hub stops every server it started
c.JupyterHub.cleanup_proxy = True

# --- who may log in ------------------------------------------------------------------------
# A LOCAL TRIAL: DummyAuthenticator takes any roster user name with the one trial password
# in state/trial-password. A university switches this one line (hub/README.md):
#   c.JupyterHub.authenticator_class = "ltiauthenticator.lti13.authenticator.LTI13Authenticator"
#   c.JupyterHub.authenticator_class = "generic-oauth"     # OAuthenticator (Keycloak, Azure AD...)
#   c.JupyterHub.authenticator_class = "pam"                # the machine's Unix passwords
c.JupyterHub.authenticator_class = course.get("authenticator", "dummy")
c.DummyAuthenticator.password = (STATE / "trial-password").read_text(encoding="utf-8").strip()
c.Authenticator.allowed_users = set(course["tutors"] + course["students"])
c.Authenticator.admin_users = set()


def refuse_grader_account(authenticator, handler, authentication):
    """Nobody logs in as the grader account, whatever the authenticator says: it is a hub
    user only so that nbgrader can read its groups (below), and its server would see the
    hidden tests and the gradebook. (Not blocked_users: the hub empties a blocked user's
    groups at every start.)"""
    if authentication and authentication.get("name") == course["grader"]:
        authenticator.log.warning("refused a login as the grader account %s", course["grader"])
        return None
    return authentication


c.Authenticator.post_auth_hook = refuse_grader_account

# --- how a user's server starts --------------------------------------------------------------
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [SINGLEUSER]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {"PATH": PATH, "MPLBACKEND": "Agg",
                         **({"MNIST_DIR": course["mnist_dir"]} if course.get("mnist_dir") else {})}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.LocalProcessSpawner.shell_cmd = []
c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 0}

# --- the course groups and what they may do ------------------------------------------------
# The grader account (the formgrader service's user) is a hub user in formgrade-<course>:
# the formgrader asks the hub for ITS groups when it lists the exchange (JupyterHubAuthPlugin,
# GET /hub/api/users/grader-<course>); not a hub user, every formgrader page is an HTTP 500
# ("JupyterhubAPI returned a status code of: 404", nbgrader issue #1872).
c.JupyterHub.load_groups = {
    f"formgrade-{COURSE}": {"users": course["tutors"] + [course["grader"]]},
    f"nbgrader-{COURSE}": {"users": course["students"]},
}
c.JupyterHub.load_roles = [
    # the Assignments tab (JupyterHubAuthPlugin) reads the user's own groups with the
    # server's token: it inherits the owner's permissions
    {"name": "server", "scopes": ["inherit"]},
    {"name": f"formgrade-{COURSE}", "groups": [f"formgrade-{COURSE}"],
     "scopes": [f"access:services!service={COURSE}", "list:services", f"read:services!service={COURSE}"]},
    {"name": f"nbgrader-{COURSE}", "groups": [f"nbgrader-{COURSE}"],
     "scopes": ["list:services", f"read:services!service={COURSE}"]},
    # the formgrader adds and removes students (nbgrader db student add/remove)
    {"name": f"service-{COURSE}", "services": [COURSE],
     "scopes": ["list:users", "read:users", "read:users:groups", "list:groups", "read:groups",
                f"groups!group=nbgrader-{COURSE}"]},
    # `python -m hub.setup` (root, on this machine) adds roster users and groups
    {"name": "coursepack-admin", "services": ["coursepack-admin"],
     "scopes": ["admin:users", "admin:groups", "admin:servers", "tokens", "list:services",
                "read:services"]},
]
c.JupyterHub.services = [
    {
        "name": COURSE,
        "url": f"http://127.0.0.1:{course['service_port']}",
        "command": [SINGLEUSER, "--ServerApp.root_dir=" + course["course_root"]],
        "user": course["grader"],
        "cwd": course["course_root"],
        "environment": {"PATH": PATH, "JUPYTERHUB_DEFAULT_URL": "/lab", "MPLBACKEND": "Agg",
                        "HOME": course["grader_home"]},
        "api_token": (STATE / "service-token").read_text(encoding="utf-8").strip(),
        "oauth_no_confirm": True,
    },
    {
        "name": "coursepack-admin",
        "api_token": (STATE / "admin-token").read_text(encoding="utf-8").strip(),
    },
]
