"""Managers' and moderators' dashboards: usage, storage and the ledger (read-only).

Every figure is an aggregate query over the owning apps' tables (or a row they keep, such as
storage's Table 1 runs), read through their selectors where they have one. `selectors.py`
computes (`stats.py`: durations and percentiles in the database), `charts.py` turns figures
into plotly JSON, `views.py` renders, `urls.py` routes. The one table of its own,
`DashboardSnapshot` (`models.py`), holds the unfiltered views
the worker rebuilds (`services.py`, `tasks.py`, `snapshots.py`).
"""
