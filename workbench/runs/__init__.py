"""Runs: plan, run (reserve, execute, release, commit), results and the budget ledger.

- :mod:`workbench.runs.operations` — the operations the service exposes
- :mod:`workbench.runs.ledger` — the append-only budget ledger in the store
- :mod:`workbench.runs.release` — noise, key selection and k-min on exact vectors
"""
