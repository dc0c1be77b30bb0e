"""privacy_unit: every dataset a question reads has an identity column (the privacy unit), so
each row can be tagged with the person it belongs to and that person's rows bounded and counted
for the crowd-size rule."""

from __future__ import annotations

from workbench.questions.checks._base import CheckInput, Violation

RULE = "privacy_unit"


def privacy_unit(q: CheckInput) -> list[Violation]:
    """Each bound dataset macro has an identity column."""
    out: list[Violation] = []
    for dataset in sorted(q.parsed.macros()):
        binding = q.bindings.get(dataset)
        if binding is None or binding.rules.identity is not None:
            continue
        out.append(Violation(rule=RULE, dataset=dataset, message=(
            f"{dataset} has no identity column (privacy unit), so one person's rows cannot be "
            "bounded or counted; its data manager must mark the identity column before "
            "questions can read it")))
    return out
