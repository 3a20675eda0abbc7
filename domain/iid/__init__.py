"""The Indeks Inovasi Daerah (IID): catalogue per year, pure scoring, set-based portfolio.

- ``catalogue``: the indicators, weights, levels, k, count term and bands of a year,
  loaded from ``catalogues/<year>.yaml`` (adding a year is adding a file).
- ``scoring``: pure functions from indicator levels to SID, SPD, IID and band.
- ``portfolio``: the same figures for a whole portfolio, computed in SQL.
- ``scorefile``: score a region described in a YAML/JSON file, without the database.
- ``urusan``: the official government affairs (``urusan.yaml``) and tolerant matching.
- ``readiness``: what blocks each innovation in the national collection of a year.
"""
