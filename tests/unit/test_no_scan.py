"""No Scan anywhere in the app: every list is a Query on a key or index built for it."""
import re
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "chalicelib"
SCAN = re.compile(r"\.scan\(|[\"']Scan[\"']|\bscan_index\b(?!_forward)")


def test_no_module_of_the_app_scans_a_table():
    offenders = [
        f"{path.relative_to(APP.parent)}:{n}: {line.strip()}"
        for path in APP.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if SCAN.search(line)
    ]
    assert offenders == []


def test_the_check_would_see_a_scan():
    assert SCAN.search("for item in SpaceModel.scan(limit=10):")
    assert SCAN.search("client.batch_get_item(...); client._make_api_call('Scan', {})")
    assert not SCAN.search("DiscoveryModel.by_rank.query(key, scan_index_forward=False)")
