"""Audiences: after measuring, act.

Map: ``cohorts`` (user-list questions built as matched cohorts whose members stay in the
service), ``match_rates`` (matched / uploaded per identifier kind), ``lookalike`` (modeled
cohorts trained with scikit-learn), ``activation`` + ``destinations`` (exports of the activation
party's own ids), ``connections`` (a publisher's advertiser toggles), ``release`` (DP counts and
the one ledger), ``actions`` (the policy's view), ``demo`` (a seeded cohort and activation),
``_records`` (all SQL).
"""
