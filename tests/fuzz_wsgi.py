"""The production app for the fuzzer's gunicorn, over plain HTTP on loopback (so its session
cookies are not marked Secure); everything else is production configuration."""

from planner import create_app

app = create_app("production", SESSION_COOKIE_SECURE=False, REMEMBER_COOKIE_SECURE=False)
