"""Managers' and moderators' dashboards: usage, storage and the ledger (read-only).

Every figure is an aggregate query over the owning apps' tables, read through their
`selectors.py` only (never their models: tests/test_boundaries.py). `selectors.py` composes
those into the dashboards' typed rows (`stats.py`: durations and percentiles in the database),
`tables.py` declares each page's tables (title, columns, chart) over those rows, `charts.py`
turns them into plotly JSON in the portal's one palette (`surveys/charts.py`), `forms.py`
holds the filters, `views.py` renders, `urls.py` routes. The one table of its own,
`DashboardSnapshot` (`models.py`), holds the unfiltered views the worker rebuilds
(`services.py`, `tasks.py`), with the schema version of their rows (`snapshots.py`).
"""
