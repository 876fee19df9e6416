"""A renewal or card-update event whose reference ends in something this app never made (not
`<subscription>.<period>.<attempt>`) changes nothing and is answered as handled, instead of
failing on the unpacking of nothing (which the provider would redeliver for days)."""
import pytest

from chalicelib.domain.payments import PaymentEvent
from chalicelib.services import renewals


@pytest.mark.parametrize("handler", [renewals.renewal_event, renewals.card_update_event])
@pytest.mark.parametrize("object_id", ["", "sub", "sub.1", "sub.x.1", ".1.1"])
def test_an_unparseable_reference_is_ignored_before_any_read(handler, object_id):
    event = PaymentEvent("evt_1", "payment_succeeded", "pi_1", f"renew:c:s:{object_id}", 499, "USD")
    assert handler(None, "creator", "subscriber", object_id, event) is False  # deps never touched
