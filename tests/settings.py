"""Test settings: production settings with a throwaway secret and fast password hashing."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")

from civicgrid.settings import *  # noqa: F403
from civicgrid.settings import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="civicgrid-test-media-"))

# Threaded tests (live server, races) should not keep connections open past a request.
DATABASES["default"]["CONN_MAX_AGE"] = 0
