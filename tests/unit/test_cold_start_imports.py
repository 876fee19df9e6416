"""What a cold start imports: `import app` and the first request's `bootstrap.deps()` leave out
the adapters of repositories a join never calls, and the share card's domain module; the first
use of such a repository imports and builds it (bench/imports.py measures the time)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFERRED = (
    "chalicelib.adapters.dynamodb.reminders",
    "chalicelib.adapters.dynamodb.tickets",
    "chalicelib.domain.share",
)


def test_a_cold_start_leaves_out_what_a_join_never_uses_and_the_first_use_builds_it():
    code = (
        "import sys; import app; from chalicelib import bootstrap; deps = bootstrap.deps(); "
        f"print(sorted(m for m in {DEFERRED!r} if m in sys.modules)); "
        "shards = deps.reminders.shards; "
        "from chalicelib.adapters.dynamodb.reminders import DynamoReminderRepository; "
        "print(shards == deps.settings.reminder_shards, isinstance(deps.reminders._target, DynamoReminderRepository))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "True True"]
