"""What a cold start imports: `import app` and the first request's `bootstrap.deps()` leave out
the adapters of repositories a join never calls, the domain modules of areas a join never uses
(each domain module holds one topic, and each frozen dataclass it defines costs its import about
half a millisecond), and the share card's domain module; the first use of such a repository
imports and builds it (bench/imports.py measures the time)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFERRED = (
    "chalicelib.adapters.dynamodb.appeals",
    "chalicelib.adapters.dynamodb.counts",
    "chalicelib.adapters.dynamodb.recording",
    "chalicelib.adapters.dynamodb.reminders",
    "chalicelib.adapters.dynamodb.reports",
    "chalicelib.adapters.dynamodb.subscriptions",
    "chalicelib.adapters.dynamodb.tickets",
    "chalicelib.domain.appeals",
    "chalicelib.domain.captions",
    "chalicelib.domain.clips",
    "chalicelib.domain.commands.commerce",
    "chalicelib.domain.commands.moderation",
    "chalicelib.domain.commands.recording",
    "chalicelib.domain.commands.spaces",
    "chalicelib.domain.events.lifecycle",
    "chalicelib.domain.media_queue",
    "chalicelib.domain.payments",
    "chalicelib.domain.replay_landing",
    "chalicelib.domain.replays",
    "chalicelib.domain.reports",
    "chalicelib.domain.share",
    "chalicelib.domain.subscriptions",
)
# What a container's first join loads on top (its service and its body's parser), which must not
# bring those back.
JOIN = "chalicelib.services.stage, chalicelib.api.bodies.stage"


def test_a_cold_start_leaves_out_what_a_join_never_uses_and_the_first_use_builds_it():
    code = (
        "import sys; import app; from chalicelib import bootstrap; deps = bootstrap.deps(); "
        f"print(sorted(m for m in {DEFERRED!r} if m in sys.modules)); "
        f"import {JOIN}; "
        f"print(sorted(m for m in {DEFERRED!r} if m in sys.modules)); "
        "shards = deps.reminders.shards; "
        "from chalicelib.adapters.dynamodb.reminders import DynamoReminderRepository; "
        "print(shards == deps.settings.reminder_shards, isinstance(deps.reminders._target, DynamoReminderRepository))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:3] == ["[]", "[]", "True True"]
