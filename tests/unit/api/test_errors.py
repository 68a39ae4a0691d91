"""The 422 message format of errors.invalid, as upstream aggregates field errors."""

import pytest

from kybernetes.api.errors import Cause, invalid

REQ = Cause("FieldValueRequired", "Required value", "spec.containers[0].image")
NAME = Cause("FieldValueRequired", "Required value", "metadata.name")


@pytest.mark.parametrize(
    ("causes", "message"),
    [
        pytest.param(
            [REQ], 'Pod "p" is invalid: spec.containers[0].image: Required value', id="one"
        ),
        pytest.param(
            [REQ, NAME],
            'Pod "p" is invalid: [spec.containers[0].image: Required value, '
            "metadata.name: Required value]",
            id="several",
        ),
        pytest.param(
            [REQ, REQ],
            'Pod "p" is invalid: spec.containers[0].image: Required value',
            id="repeats-dropped",
        ),
        pytest.param([], 'Pod "p" is invalid', id="none"),
        pytest.param(
            [Cause("FieldValueInvalid", "bad")], 'Pod "p" is invalid: : bad', id="no-field"
        ),
    ],
)
def test_invalid_message(causes: list[Cause], message: str) -> None:
    err = invalid("Pod", "p", causes)
    assert err.code == 422
    assert err.reason == "Invalid"
    assert err.message == message
