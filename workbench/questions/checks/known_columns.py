"""known_columns: every dataset macro is mapped in the room, every field macro maps to a column,
and every column used has an analysis rule (a column without a rule may not be used at all)."""

from __future__ import annotations


from workbench.questions.checks._base import CheckInput, Violation

RULE = "known_columns"


def known_columns(q: CheckInput) -> list[Violation]:
    """Macros resolve and the columns they resolve to have rules."""
    out: list[Violation] = []
    if q.parsed.tree is None:
        return out
    for dataset, fields in sorted(q.parsed.macros().items()):
        binding = q.bindings.get(dataset)
        if binding is None:
            if q.strict:
                out.append(Violation(rule=RULE, dataset=dataset, message=(
                    f"the dataset macro {dataset} is not mapped to a dataset in this room; a data "
                    "manager maps it (Assign Datasets) before the question can run")))
            continue
        for name in sorted(fields):
            column = binding.column(name)
            if column is None:
                if q.strict:
                    out.append(Violation(rule=RULE, dataset=dataset, column=name, message=(
                        f"the field macro {dataset}.{name} is not mapped to a column; map it in "
                        "the dataset-to-question mapping")))
                continue
            if binding.rule(name) is None:
                out.append(Violation(rule=RULE, dataset=dataset, column=name, message=(
                    f"{dataset}.{name} has no analysis rule, so questions may not use it; ask "
                    "the dataset's data manager to add a rule for it")))
    return out


