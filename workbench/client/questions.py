"""Client methods for questions, question permissions, terms and templates."""

from __future__ import annotations

from typing import Any

from workbench.wire import questions as w


def _draft(name: str, sql: str, parameters: list[dict[str, Any]] | None, kind: str,
           description: str, max_rows: int, max_groups: int,
           scales: dict[str, float] | None = None) -> dict[str, Any]:
    return {"name": name, "sql": sql, "parameters": parameters or [], "kind": kind,
            "description": description, "max_rows": max_rows, "max_groups": max_groups,
            "scales": scales or {}}


class QuestionsAPI:
    """Author, check, edit, clone, add and delete questions; set terms and permissions."""

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:  # provided by Client
        raise NotImplementedError

    def check_question(self, room_id: str, name: str, sql: str, *,
                       parameters: list[dict[str, Any]] | None = None, kind: str = "analytical",
                       description: str = "", max_rows: int = 1, max_groups: int = 1
                       ) -> w.CheckReport:
        """Every analysis-rule violation of a draft, each naming rule, dataset and column."""
        body = _draft(name, sql, parameters, kind, description, max_rows, max_groups)
        return w.CheckReport(**self._request("POST", f"/api/v1/rooms/{room_id}/questions/check",
                                             json=body))

    def create_question(self, room_id: str, name: str, sql: str, *,
                        parameters: list[dict[str, Any]] | None = None, kind: str = "analytical",
                        description: str = "", max_rows: int = 1, max_groups: int = 1,
                        scales: dict[str, float] | None = None) -> w.Question:
        """Author a question (needs Question Builder); raises RuleViolation listing every
        broken rule. Parameters: [{"name", "type", ...}] with type integer | number | date |
        date_range | one_of (choices) | text (pattern). ``scales``: a public typical value per
        output column, so analysts can plan with relative targets such as "±2%"."""
        body = _draft(name, sql, parameters, kind, description, max_rows, max_groups, scales)
        return w.Question(**self._request("POST", f"/api/v1/rooms/{room_id}/questions",
                                          json=body))

    def questions(self, room_id: str) -> list[w.Question]:
        """The room's questions (SQL shown where your org may view it)."""
        return [w.Question(**q) for q in
                self._request("GET", f"/api/v1/rooms/{room_id}/questions")]

    def question(self, room_id: str, question_id: str) -> w.Question:
        """One question."""
        return w.Question(**self._request(
            "GET", f"/api/v1/rooms/{room_id}/questions/{question_id}"))

    def update_question(self, room_id: str, question_id: str, **changes: Any) -> w.Question:
        """Edit fields (name, sql, parameters, kind, description, max_rows, max_groups)."""
        return w.Question(**self._request(
            "PATCH", f"/api/v1/rooms/{room_id}/questions/{question_id}", json=changes))

    def clone_question(self, room_id: str, question_id: str, name: str | None = None
                       ) -> w.Question:
        """Copy a question into a new one owned by your organisation."""
        return w.Question(**self._request(
            "POST", f"/api/v1/rooms/{room_id}/questions/{question_id}/clone",
            json={"name": name}))

    def add_question(self, room_id: str, question_id: str) -> w.Question:
        """Owner only: add an authored question to the room so it can run."""
        return w.Question(**self._request(
            "POST", f"/api/v1/rooms/{room_id}/questions/{question_id}/add"))

    def delete_question(self, room_id: str, question_id: str) -> None:
        """Owner only: delete a question from the room."""
        self._request("DELETE", f"/api/v1/rooms/{room_id}/questions/{question_id}")

    def set_terms(self, room_id: str, question_id: str, *, runners: list[str] | None = None,
                  receivers: list[str] | None = None) -> w.Question:
        """Owner only: which org ids run the question and which receive results."""
        body = {"runners": runners or [], "receivers": receivers or []}
        return w.Question(**self._request(
            "PUT", f"/api/v1/rooms/{room_id}/questions/{question_id}/terms", json=body))

    def set_question_permissions(self, room_id: str, question_id: str,
                                 rules: list[dict[str, Any]]) -> w.Question:
        """Override one question's permissions: [{"permission", "partner_org_id", "allowed"}]."""
        return w.Question(**self._request(
            "PUT", f"/api/v1/rooms/{room_id}/questions/{question_id}/permissions",
            json={"rules": rules}))

    def question_permission_defaults(self, room_id: str) -> list[w.PermissionRule]:
        """Your org's default question permissions for partners in the room."""
        return [w.PermissionRule(**r) for r in
                self._request("GET", f"/api/v1/rooms/{room_id}/question-permissions")]

    def set_question_permission_defaults(self, room_id: str, rules: list[dict[str, Any]]
                                         ) -> list[w.PermissionRule]:
        """Replace your org's defaults: [{"permission", "partner_org_id" ("*"), "allowed"}]."""
        return [w.PermissionRule(**r) for r in self._request(
            "PUT", f"/api/v1/rooms/{room_id}/question-permissions", json={"rules": rules})]

    def export_template(self, room_id: str) -> str:
        """The room's template (privacy, fields, questions, terms, permissions) as YAML."""
        return self._request("GET", f"/api/v1/rooms/{room_id}/template/export")["yaml"]

    def import_template(self, yaml_text: str, *, name: str | None = None) -> w.TemplateImported:
        """Create a new room from a template YAML text."""
        body: dict[str, Any] = {"yaml": yaml_text}
        if name is not None:
            body["name"] = name
        return w.TemplateImported(**self._request("POST", "/api/v1/templates/import", json=body))
