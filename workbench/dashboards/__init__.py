"""Intelligence dashboards: an organisation's saved charts over released run results.

A chart stores which run it draws and how, never numbers: reading it goes through the run's own
result rule (receivers with View Reports), and charts of runs removed by an unlink go with them.
"""
