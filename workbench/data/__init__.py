"""Datasets: data connections, identity hashing, provisioning, analysis rules, templates, unlinking.

``provisioning.resolve(cur, room_id, dataset_macro)`` is how questions reach a dataset: it
returns the view to query, the rules in force and the field-to-column mapping.
"""

from workbench.data._records import data_parties
from workbench.data.provisioning import ResolvedDataset, resolve
from workbench.data.rules import AnalysisRules, ColumnRule

__all__ = ["AnalysisRules", "ColumnRule", "ResolvedDataset", "data_parties", "resolve"]
