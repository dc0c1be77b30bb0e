"""The demo's audiences: a matched cohort, a lookalike and one activation, made through the client
the way the publisher and the advertiser would (``workbench.demo.seed`` calls it).
"""

from __future__ import annotations

from typing import Any

from workbench.errors import Conflict

BUYERS_SQL = ("SELECT p.email FROM publisher p JOIN advertiser a ON p.email = a.email "
              "WHERE a.amount >= :min_amount")


def seed_audiences(owner: Any, partner: Any, room_id: str, *,
                   features: tuple[str, ...] = ("region", "age_band", "pageviews"),
                   say: Any = None) -> dict[str, Any]:
    """Build "Matched buyers", a 10% lookalike of it and, when the service has an activation
    root (WORKBENCH_ACTIVATION_ROOT), export the cohort to a GAM destination with a cap of
    3 impressions a day. ``owner`` and ``partner`` are clients of the two org admins."""
    say = say or (lambda *a, **k: None)
    say("  a matched cohort, a lookalike and an activation ...")
    mine = {d.org_id: d.id for d in owner.datasets(room_id)}
    question = owner.create_question(
        room_id, "Buyers (user list)", BUYERS_SQL, kind="user_list",
        parameters=[{"name": "min_amount", "type": "number", "default": 0, "minimum": 0,
                     "description": "Minimum order amount"}],
        description="Publisher users who bought from the advertiser: an audience to activate.")
    owner.add_question(room_id, question.id)
    cohort = owner.create_cohort(room_id, "Matched buyers", question.id, {"min_amount": 0},
                                 epsilon="0.5")
    look = owner.train_lookalike(room_id, "Buyers lookalike", cohort.id, list(features),
                                 random_seed=12, epsilon="0.5")
    owner.pick_lookalike_size(room_id, look.id, percent=10)
    me = owner.whoami()
    other = next((org for org in mine if org != me.org.id), None)
    owner.set_activation_policy(room_id, mine[me.org.id], True)
    if other is not None:
        partner.set_activation_policy(room_id, mine[other], True)
    out: dict[str, Any] = {"cohort_id": cohort.id, "lookalike_id": look.id, "activation_id": None}
    try:
        dest = owner.create_destination(room_id, "Ad server (GAM)", "gam", "gam")
    except Conflict:
        return out
    out["activation_id"] = owner.activate(room_id, cohort.id, dest.id, impressions=3,
                                          per="day").id
    return out
