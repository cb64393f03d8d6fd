"""The vectorised JSON builder: every row's text must be what json.dumps would say."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from erp_outbound.core import jsontext as J

ODD = ['plain', ' padded ', 'quote " inside', 'back\\slash', 'tab\there', 'umlaut ä and € and 😀', '', None,
       'line\nbreak', '\x01control', '<script>alert(1)</script>']


def test_string_matches_json_dumps_for_every_odd_text():
    values = pd.Series(ODD, dtype="string")
    got = J.string(values)
    for raw, text in zip(ODD, got):
        stripped = raw.strip() if raw is not None else None
        if not stripped:
            assert pd.isna(text)
        else:
            assert json.loads(text) == stripped
            assert text == json.dumps(stripped)


def test_numbers_and_integers():
    numbers = J.number(pd.Series([1.0, 12.5, "3.14159", None, "x"]), decimals=2)
    assert [json.loads(t) if pd.notna(t) else None for t in numbers] == [1, 12.5, 3.14, None, None]
    integers = J.integer(pd.Series([1, 2.0, 2.5, None, "7"]))
    assert [t if pd.notna(t) else None for t in integers] == ["1", "2", None, None, "7"]


@pytest.mark.parametrize("first_missing", [True, False])
def test_obj_leaves_out_missing_members_row_by_row(first_missing):
    idx = pd.RangeIndex(4)
    a = pd.Series([None, '"x"', None, '"y"'] if first_missing else ['"x"'] * 4, dtype="string")
    b = pd.Series(['1', None, None, '2'], dtype="string")
    got = [json.loads(t) for t in J.obj({"a": a, "b": b, "c": J.constant(True, idx)}, idx)]
    expected = [{k: v for k, v in {"a": json.loads(x) if pd.notna(x) else None,
                                   "b": json.loads(y) if pd.notna(y) else None, "c": True}.items() if v is not None}
                for x, y in zip(a, b)]
    assert got == expected


def test_rows_with_every_member_missing_keep_their_place():
    # pyarrow 26's "skip" null handling dropped such rows; the builder must not.
    idx = pd.Index(["d1", "d2", "d3"])
    a = pd.Series([None, None, '"x"'], index=idx, dtype="string")
    b = pd.Series([None, '2', None], index=idx, dtype="string")
    assert list(J.obj({"a": a, "b": b}, idx)) == ["{}", '{"b":2}', '{"a":"x"}']
    assert list(J.array(a, b, index=idx)) == ["[]", "[2]", '["x"]']
    assert [t if pd.notna(t) else None for t in J.optional_obj({"a": a}, idx)] == [None, None, '{"a":"x"}']


def test_nest_groups_in_order_and_leaves_unknown_keys_missing():
    elements = pd.Series(['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}'], dtype="string")
    keys = pd.Series(["B", "A", "B", None])
    nested = J.nest(elements, keys, pd.Index(["A", "B", "C"]))
    assert json.loads(nested["A"]) == [{"n": 2}]
    assert json.loads(nested["B"]) == [{"n": 1}, {"n": 3}]
    assert pd.isna(nested["C"])
