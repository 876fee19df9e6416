"""`make run`'s worker prints each push a batch sent (README: "the push appears in the make run
terminal"), from the Delivery that services/reminders.deliver answers."""
from types import SimpleNamespace

from chalicelib.domain.reminders import Delivery
from scripts import local_worker


class OneShotQueue:
    def __init__(self, messages):
        self.messages, self.deleted = list(messages), []

    def receive(self, max_messages, wait_seconds):
        taken, self.messages = self.messages[:max_messages], self.messages[max_messages:]
        return taken

    def delete(self, receipt):
        self.deleted.append(receipt)


def test_the_worker_prints_the_log_of_a_push_batch_and_deletes_its_message(monkeypatch, capsys):
    line = "sent: bob (ios) Space starting: Hello is live now"
    monkeypatch.setattr(local_worker, "fold_counts", lambda deps: 0)
    monkeypatch.setattr(local_worker, "JOBS", ())
    monkeypatch.setattr(local_worker, "process_push", lambda body: Delivery(sent=1, skipped=0, log=[line]))
    push = OneShotQueue([("r1", {"space_id": "S1"})])
    deps = SimpleNamespace(
        scheduler=SimpleNamespace(list_due=lambda now: []),
        fanout_queue=OneShotQueue([]),
        push_queue=push,
        tickets_queue=OneShotQueue([]),
    )
    assert local_worker.tick(deps) == 1
    assert push.deleted == ["r1"]
    assert f"[push] {line}" in capsys.readouterr().out
