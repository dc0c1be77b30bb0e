"""Bindings shared by the question tests: two datasets with the analysis rules data managers set."""

from __future__ import annotations

import pytest

from workbench.data.rules import AnalysisRules, ColumnRule
from workbench.questions import DatasetBinding

PUBLISHER = AnalysisRules(
    dataset_id="pub", identity="email_sha", pii=frozenset({"email_sha", "phone"}),
    columns={
        "email_sha": ColumnRule(name="email_sha", join=True,
                                aggregations=frozenset({"COUNT_DISTINCT"})),
        "phone": ColumnRule(name="phone", aggregations=frozenset({"COUNT_DISTINCT"})),
        "region": ColumnRule(name="region", group_by=True, public_values=("north", "south")),
        "age": ColumnRule(name="age", group_by=True, public_values=("18-34", "35+")),
        "city": ColumnRule(name="city", group_by=True),
        "income": ColumnRule(name="income"),
        "zip": ColumnRule(name="zip", group_by=True, input_k_min=5),
        "pageviews": ColumnRule(name="pageviews", aggregations=frozenset({"SUM", "AVG"}),
                                lower=0, upper=60),
    })
ADVERTISER = AnalysisRules(
    dataset_id="adv", identity="em", pii=frozenset({"em"}),
    columns={
        "em": ColumnRule(name="em", join=True),
        "amt": ColumnRule(name="amt", aggregations=frozenset({"SUM", "AVG"}), lower=0, upper=100),
        "sku": ColumnRule(name="sku", join=False, group_by=False,
                          aggregations=frozenset({"COUNT"})),
        "day": ColumnRule(name="day"),
        "big": ColumnRule(name="big", aggregations=frozenset({"SUM"}), lower=0, upper=1e9),
    })
SURVEY = AnalysisRules(
    dataset_id="srv", identity=None,
    columns={"answer": ColumnRule(name="answer", group_by=True, public_values=("yes", "no"))})


def bindings() -> dict[str, DatasetBinding]:
    return {
        "publisher": DatasetBinding(
            macro="publisher", view="pub", rules=PUBLISHER,
            fields={"email": "email_sha", "phone": "phone", "region": "region", "age_band": "age",
                    "city": "city", "income": "income", "zip": "zip",
                    "pageviews": "pageviews"}),
        "advertiser": DatasetBinding(
            macro="advertiser", view="adv", rules=ADVERTISER,
            fields={"email": "em", "amount": "amt", "sku": "sku", "day": "day", "big": "big"}),
        "survey": DatasetBinding(macro="survey", view="srv", rules=SURVEY,
                                 fields={"answer": "answer"}),
    }


@pytest.fixture
def rooms_bindings() -> dict[str, DatasetBinding]:
    return bindings()
