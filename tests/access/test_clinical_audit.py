"""Every read of clinical data by someone other than the patient's own account writes an audit
event (analytics.AuditEvent), on every surface: the routes are the matrix rows marked
``clinical=True``, and the readers are the cells that answered 200.

The rule, as chats, wellness and emotion reads already follow it: a read by the patient's own
account is not audited; a read by family, doctors, hospital staff or an administrator is, with the
patient as the event's target; Django admin pages of clinical records always are. A list is one
INSERT however many patients it shows (``audit_record_many``)."""

import pytest

from analytics.models import AuditEvent
from tests.access.matrix import XF, request_cell
from tests.access.test_coverage import matrix_rows
from tests.access.world import ROLES

OWN_ACCOUNT = ("alice", "alice_2fa_owed")  # Alice's own reads of her own record


def _cases():
    cases = []
    for _module, r in matrix_rows():
        if not r.clinical:
            continue
        # clinical=True: every other reader the row answers 200; a set: the roles whose answer
        # holds clinical data (a list can answer someone 200 with nothing of Alice's in it).
        readers = tuple(role for role, cell in zip(ROLES, r.cells)
                        if not isinstance(cell, XF) and cell == 200 and role not in OWN_ACCOUNT
                        and (r.clinical is True or role in r.clinical))
        cases.append(pytest.param(r, readers, id=r.key))
    return cases


def _audited(world, r, role) -> int:
    from django.db import transaction

    with transaction.atomic():
        before = AuditEvent.objects.count()
        outcome, _ = request_cell(world, r, role)
        written = AuditEvent.objects.count() - before
        transaction.set_rollback(True)
    assert outcome == 200, f"{r.key} as {role}: {outcome!r}"
    return written


@pytest.mark.parametrize(("r", "readers"), _cases())
def test_every_clinical_read_by_others_is_audited(world, db, r, readers):
    unaudited = [role for role in readers if not _audited(world, r, role)]
    assert not unaudited, f"{r.key}: a read by {', '.join(unaudited)} wrote no audit event"


def test_the_clinical_routes_are_marked():
    keys = {r.key for _, r in matrix_rows() if r.clinical}
    # A few anchors, so that un-marking a row is a visible change.
    for key in ("GET appointment_detail", "GET /api/v1/appointments/{appointment_id}",
                "GET calendar_feed_ics [doctor's feed]", "GET /api/v1/chats/{chat_id}/messages",
                "GET admin:clinic_appointment_change", "GET /api/v1/patients/{patient_id}/wellness"):
        assert key in keys, key
