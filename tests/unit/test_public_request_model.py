"""The public form's model, by property: whatever a client sends, it either validates
into values within the database's limits, or refuses with pydantic's error (never
another exception, never a value that would not fit its column)."""

from __future__ import annotations

from typing import Any

import pydantic
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.klinik import PublicRequestIn
from domain.schemas import CONTROL_CHARACTERS

FIELDS = ("kind", "name", "community", "email", "phone", "subject", "message", "language")
LIMITS = {"name": 200, "community": 200, "email": 254, "phone": 40, "subject": 200,
          "message": 5000}  # fmt: skip

texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=15, max_size=6000),
    st.sampled_from(["idea", "consultation", "id", "en", "warga@example.org", "+62 812-3456"]),
)
forms = st.dictionaries(st.sampled_from((*FIELDS, "website", "extra")), texts, max_size=10)


@settings(max_examples=300, deadline=None)
@given(forms)
def test_any_input_validates_within_the_limits_or_is_refused(data: dict[str, Any]) -> None:
    try:
        model = PublicRequestIn.model_validate(data)
    except pydantic.ValidationError:
        return
    for field, limit in LIMITS.items():
        value = getattr(model, field)
        assert value is None or (len(value) <= limit and not CONTROL_CHARACTERS.search(value))
    assert len(model.message) >= 20 and len(model.name) >= 2
    assert set(data) <= set(FIELDS)  # extra fields (a honeypot, anything else) are refused


@given(
    st.text(alphabet=st.characters(categories=["L", "N", "Zs"]), min_size=2, max_size=200).filter(
        lambda s: len(s.strip()) >= 2
    ),
    st.text(
        alphabet=st.characters(categories=["L", "N", "Zs", "P"]), min_size=20, max_size=5000
    ).filter(lambda s: len(s.strip()) >= 20),
)
@settings(max_examples=100, deadline=None)
def test_a_citizens_words_are_kept_as_written(name: str, message: str) -> None:
    model = PublicRequestIn.model_validate(
        {"kind": "idea", "name": name, "subject": "Usulan warga", "message": message}
    )
    assert (model.name, model.message) == (name.strip(), message.strip())
