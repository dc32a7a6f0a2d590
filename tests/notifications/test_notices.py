"""Reading an integration's events into notices: which events notify, once, and with what words."""

from types import SimpleNamespace

from notifications.delivery.notices import Reading, Subject, read_events
from notifications.kinds import NotificationKind as Kind

SUBJECT = Subject(7, "Sales CRM")


def events(*specs):
    return [SimpleNamespace(seq=seq, type=type, data=data) for seq, (type, data) in enumerate(specs, start=1)]


def ended(sync_id: int, status: str, reason: str = ""):
    return ("sync.failed" if status in ("failed", "cancelled") else "sync.completed", {"id": sync_id, "status": status, "reason": reason})


def read(specs, reading=None, limit=3):
    reading = reading or Reading()
    return read_events(SUBJECT, events(*specs), reading, failed_syncs_limit=limit), reading


def test_the_third_failed_sync_in_a_row_notifies_once_with_fivetrans_last_reason():
    notices, reading = read([ended(1, "failed", "a"), ended(2, "failed", "b"), ended(3, "failed", "Bad password"), ended(4, "failed")])
    assert [(n.kind, n.key) for n in notices] == [(Kind.SYNCS_FAILING, "integration-7:syncs_failing:3")]
    assert "Bad password" in notices[0].body and notices[0].title == "Sales CRM: 3 syncs in a row failed"
    assert notices[0].link == "/integrations/7/"
    assert reading.failed_syncs == 4


def test_a_success_starts_the_count_again():
    notices, reading = read([ended(1, "failed"), ended(3, "failed"), ended(2, "successful"), ended(4, "failed"), ended(5, "failed")])
    assert notices == [] and reading.failed_syncs == 2


def test_cancelled_rescheduled_and_repeated_ends_do_not_count():
    specs = [ended(1, "failed"), ended(1, "failed"), ended(2, "cancelled"), ended(3, "rescheduled"), ended(4, "failed")]
    notices, reading = read(specs)
    assert notices == [] and reading.failed_syncs == 2


def test_the_count_carries_over_between_passes():
    _, reading = read([ended(1, "failed"), ended(2, "failed")])
    notices, _ = read([ended(3, "failed")], reading)
    assert [n.kind for n in notices] == [Kind.SYNCS_FAILING]


def test_a_connection_notifies_when_it_becomes_broken_not_while_it_stays_so():
    broken = ("connection.updated", {"health": "broken", "reason": "The password was changed."})
    healthy = ("connection.updated", {"health": "healthy", "reason": ""})
    notices, _ = read([healthy, broken, broken, healthy, broken])
    assert [n.key for n in notices] == ["integration-7:connection_broken:2", "integration-7:connection_broken:5"]
    assert notices[0].link == "/integrations/7/?tab=settings"
    assert notices[0].body.startswith("The password was changed.")


def test_set_up_ready_and_failed():
    notices, _ = read(
        [
            ("step.failed", {"step": "connect_card", "error": {"code": "x", "message": "Invalid credentials"}, "retryable": True}),
            ("step.started", {"step": "connect_card", "attempt": 2}),
            ("setup.completed", {"duration_ms": 5, "tables": 4}),
        ]
    )
    failed, ready = notices
    assert failed.kind == Kind.SETUP_FAILED and failed.link == "/integrations/7/flow/"
    assert failed.body == "Connect your account failed: Invalid credentials. Retry it from the set-up page."
    assert ready.kind == Kind.SETUP_READY and ready.body == "The first sync has landed: 4 tables in BigQuery."
    assert ready.key == "integration-7:setup_ready:3"
