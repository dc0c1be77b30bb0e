"""Synthetic twins: differentially private copies of a provisioned dataset's shape, for authoring.

A dataset's owner publishes its twin (charged once to its own budget in the room); question
builders run drafts on twins for free to check shape and plausibility before anyone spends
budget. Twin answers are labelled synthetic everywhere and never stored as runs.

Map: model (public domains, marginals, Chow-Liu tree, sampling; pure), _records (SQL),
actions (the policy's data), operations (publish, status, drafts, the unlink hook).
"""
