"""Managers' and moderators' dashboards: usage, storage and the ledger (read-only).

No app and no models of its own: every figure is an aggregate query over the owning apps'
tables (or a row they keep, such as storage's Table 1 runs), read through their selectors where
they have one. `selectors.py` computes, `charts.py` turns figures into plotly JSON, `views.py`
renders, `urls.py` routes.
"""
