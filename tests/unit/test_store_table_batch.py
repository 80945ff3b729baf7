"""Packing of Table Storage transactions: one partition, <= 100 operations, ~1 MB each."""

from __future__ import annotations

from sync.store.table_batch import MAX_OPERATIONS, Operation, pack_transactions, replace


def unit(partition: str, n: int, *, size: int = 0, entities: int = 2) -> list[Operation]:
    return [
        replace({"PartitionKey": partition, "RowKey": f"{n}-{i}", "Body": "x" * size})
        for i in range(entities)
    ]


def test_transactions_hold_one_partition_when_units_are_mixed() -> None:
    units = [unit(f"p{n % 3}", n) for n in range(30)]

    transactions = pack_transactions(units)

    assert len(transactions) == 3
    for operations in transactions:
        assert len({entity["PartitionKey"] for _, entity, _ in operations}) == 1


def test_transactions_hold_at_most_100_operations_when_partition_is_large() -> None:
    units = [unit("p", n) for n in range(1_000)]

    transactions = pack_transactions(units)

    assert [len(operations) for operations in transactions] == [MAX_OPERATIONS] * 20


def test_unit_kept_whole_when_it_does_not_fit_the_current_transaction() -> None:
    units = [unit("p", 0, entities=1), *(unit("p", n) for n in range(1, 60))]

    transactions = pack_transactions(units)

    assert [len(operations) for operations in transactions] == [99, 20]
    first_rows = {entity["RowKey"] for _, entity, _ in transactions[0]}
    assert all(f"{n}-0" in first_rows and f"{n}-1" in first_rows for n in range(1, 50))


def test_transactions_stay_under_one_megabyte_when_entities_are_large() -> None:
    units = [unit("p", n, size=100_000) for n in range(20)]  # 200 KB per unit

    transactions = pack_transactions(units)

    assert [len(operations) for operations in transactions] == [8] * 5
    sizes = [sum(len(entity["Body"]) for _, entity, _ in ops) for ops in transactions]
    assert max(sizes) < 1_000_000


def test_unit_sent_alone_when_larger_than_the_payload_budget() -> None:
    units = [unit("p", 0), unit("p", 1, size=700_000), unit("p", 2)]

    transactions = pack_transactions(units)

    assert [len(operations) for operations in transactions] == [2, 2, 2]
