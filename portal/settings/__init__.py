"""The portal's settings, one module per environment plus one per larger topic.

Pick one with DJANGO_SETTINGS_MODULE:

- `portal.settings.base`: what every environment shares, with the embedded demo's defaults.
  The development default of `manage.py`, `make run`, the Celery app and `portal/wsgi.py`
  (the benchmarks run `bench/settings.py`, base plus their bare view).
- `portal.settings.production`: base, hardened; refuses to start without its secrets, and
  `manage.py check --deploy` is clean with it.
- `portal.settings.test`: base with what only the test suite wants (pytest's setting, in
  pyproject.toml).

Topic modules that base imports: `security` (cookies, headers, CSP, proxies, lockout),
`api` (REST framework, OpenAPI), `celery` (broker, workers), `ledger`, `storage`, `catalog`
(uploads). `env` holds the environment reader, `secret()` (NAME or NAME_FILE) and the
project's folders. Importing any of them creates no file or folder.
"""
