"""Questions: parameterised SQL templates over dataset and field macros, their static checks
against analysis rules, and their compilation into bounded, clamped DuckDB SQL.

- :class:`Question`, :class:`Parameter` — the frozen specs
- :mod:`workbench.questions.checks` — one module per analysis rule
- :mod:`workbench.questions.compile` — rewrite a checked question for the engine
"""

from workbench.questions.binding import DatasetBinding
from workbench.questions.params import Parameter
from workbench.questions.spec import Question

__all__ = ["DatasetBinding", "Parameter", "Question"]
