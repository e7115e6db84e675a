"""Declarative automation: when an asset brings itself up to date.

``on_new_data`` is ``AutomationCondition.eager()`` without its "latest time window only"
clause: a partition is requested when one of its upstream partitions was updated (a corrected
landing file for an old day, a backfill, the simulator's historical dates) and none of its
upstream partitions is missing or being materialized, and it is not in progress itself. A
partition whose upstream does not exist yet (tomorrow's features) waits; nothing is ever
requested just because it is missing, so turning automation on does not backfill history.

Upstream partitions a mapping puts before the first partition (day D - 30 early in the range)
do not exist, so they never count as missing: ``on_new_data`` also requires every dependency
to hold at least one of the partitions it reads. Without that, ``monitoring/model_performance``
(which reads the scores of days D - 36 … D - 30) was requested for every new day of the
first weeks, with no scores to evaluate, and failed.
"""

from collections.abc import Sequence

import dagster as dg


def on_new_data(
    ignore: Sequence[dg.AssetKey] = (), allow_missing: Sequence[dg.AssetKey] = ()
) -> dg.AutomationCondition:
    """Materialize a partition when its upstream data changed and is complete.

    Args:
        ignore: Upstream assets whose updates do not trigger it (e.g. the champion gate for
            scores: a new model scores new days, it does not rescore history).
        allow_missing: Partitioned upstream assets of an unpartitioned asset: it depends on
            all their partitions, most of which (days without data) never exist.
    """
    updated = dg.AutomationCondition.any_deps_updated()
    if ignore:
        updated = updated.ignore(dg.AssetSelection.assets(*ignore))
    missing = dg.AutomationCondition.any_deps_missing()
    # A dependency whose mapped partitions all lie outside its partitions is not "missing":
    # require at least one of them to exist (or to be requested on this tick).
    present = dg.AutomationCondition.all_deps_match(
        ~dg.AutomationCondition.missing() | dg.AutomationCondition.will_be_requested()
    )
    if allow_missing:
        missing = missing.ignore(dg.AssetSelection.assets(*allow_missing))
        present = present.ignore(dg.AssetSelection.assets(*allow_missing))
    return (
        updated.since_last_handled()
        & ~missing
        & present
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("on_new_data")


def on_definitions_change() -> dg.AutomationCondition:
    """Materialize an unpartitioned asset when it is missing or its code version changed."""
    return (
        (
            dg.AutomationCondition.missing().newly_true()
            | dg.AutomationCondition.code_version_changed()
        ).since_last_handled()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("on_definitions_change")
