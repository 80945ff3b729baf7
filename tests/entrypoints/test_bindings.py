"""The constants triggers register with must say what the engine's own definitions say."""

from __future__ import annotations

from sync.entrypoints.bindings import POISON_QUEUE, STANDARD_MAPPING_NAMES, WORK_QUEUE
from sync.mappings import standard_mappings
from sync.models.work import WORK_QUEUE as ENGINE_WORK_QUEUE


def test_timer_mapping_names_match_standard_set_when_built():
    assert tuple(m.name for m in standard_mappings().mappings) == STANDARD_MAPPING_NAMES


def test_team_owned_standard_set_needs_no_other_timer_when_built():
    team = {m.name for m in standard_mappings(ownership="team").mappings}
    assert team <= set(STANDARD_MAPPING_NAMES)


def test_work_queue_is_the_one_the_store_adapter_sends_to():
    assert WORK_QUEUE == ENGINE_WORK_QUEUE
    assert f"{ENGINE_WORK_QUEUE}-poison" == POISON_QUEUE
