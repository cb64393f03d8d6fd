"""A large backlog is split over mapped load tasks; every batch and build error goes exactly once."""

from __future__ import annotations

from erp_outbound.core.transform import load_parts


def batch(n: int, count: int) -> dict:
    return {"doc_type": "ORDER", "ref": f"order-{n:05d}.jsonl", "count": count}


def test_batches_split_into_parts_of_about_the_load_task_size():
    batches = [batch(n, 5000) for n in range(9)]
    parts = load_parts(batches, ["errors.jsonl"], size=20000)
    assert [sum(b["count"] for b in p["batches"]) for p in parts] == [20000, 20000, 5000]
    assert [b for p in parts for b in p["batches"]] == batches  # each once, in order
    assert [p["build_errors"] for p in parts] == [["errors.jsonl"], [], []]


def test_there_is_always_one_part_so_build_errors_are_recorded():
    assert load_parts([], ["errors.jsonl"], size=20000) == [{"batches": [], "build_errors": ["errors.jsonl"]}]


def test_a_batch_larger_than_the_part_size_is_never_split_or_dropped():
    parts = load_parts([batch(0, 50), batch(1, 50)], [], size=10)
    assert [len(p["batches"]) for p in parts] == [1, 1]
