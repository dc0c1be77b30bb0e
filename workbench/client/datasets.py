"""Client methods for datasets, provisioning, analysis rules and template mapping."""

from __future__ import annotations


class DatasetsAPI:
    """Operations on datasets, provisioning, analysis rules and template mapping (added by their domain)."""
