"""The settings mypy's Django plugin loads: the portal's own, read as for local development.

The plugin imports the settings module to learn the models. With DEBUG off (its default) and
no secrets in the environment the portal's settings refuse to load, as they must in a real
run; the type checker only reads them, so it runs them in debug mode with the demo keys.
"""

import os

os.environ.setdefault("DEBUG", "true")

from comms_portal.settings import *  # noqa: F403
