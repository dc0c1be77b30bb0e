"""Client methods for questions, question permissions and templates."""

from __future__ import annotations


class QuestionsAPI:
    """Operations on questions, question permissions and templates (added by their domain)."""
