"""Local development: `make run`. DEBUG on, a throwaway secret, localhost only."""

from .base import *  # noqa: F401,F403
from .base import STATIC_ROOT, env, env_bool

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env.str(
    "SECRET_KEY", default="insecure-local-development-key-do-not-use-in-production"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
# Development serves static files from the finders; an empty STATIC_ROOT keeps
# WhiteNoise from warning before the first collectstatic.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
