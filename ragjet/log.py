"""The one logger of ragjet (`ragjet.LOG`).

Everything logs through it so a user silences or redirects ragjet with one call. The level comes from
``config["log_level"]`` (``RAGJET_LOG_LEVEL``, default INFO); a handler is attached only when the application has none, so embedding
ragjet in an app that configures logging itself does not duplicate lines.
"""
from __future__ import annotations

import logging

from .settings import config

LOG = logging.getLogger("ragjet")
LOG.setLevel(config["log_level"].upper())
if not LOG.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s ragjet %(levelname)s: %(message)s", "%H:%M:%S"))
    LOG.addHandler(_handler)
    LOG.propagate = False
