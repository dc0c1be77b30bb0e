"""The engine: runs compiled questions in DuckDB and returns exact aggregated vectors.

Only this package (and the store) imports DuckDB. It never adds noise and never decides what
may be released; it executes what ``workbench.questions.compile`` produced, with every value
bound as a query parameter.
"""

from workbench.engine.duckdb_engine import ExactResult, execute

__all__ = ["ExactResult", "execute"]
