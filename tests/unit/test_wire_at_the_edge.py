"""Wire shapes stay at the edge: a use case in chalicelib/services takes typed values (commands,
queue messages, pages, ids), never a raw JSON body, query dict or Lambda event. The routes
(`api/`, `api/bodies/`) and the consumers (`jobs/`, `jobs/messages.py`) read the wire into those
types. Read from the source with `ast` (nothing is imported).

The few dicts that do reach a use case are handed on unread to the port that understands them,
each listed here with the reason, so a new one has to be argued for."""
from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "chalicelib" / "services"

# (module, function, parameter): why a dict is right there.
HANDED_ON = {
    # DynamoDB stream records: the participants and analytics repositories decode them.
    ("counts", "fold", "records"),
    ("analytics", "fold", "records"),
    # The payment provider's webhook: its port checks the signature over the raw body and headers.
    ("tickets", "handle_webhook", "headers"),
}


def _dict_parameters(folder: Path = SERVICES) -> set[tuple[str, str, str]]:
    found = set()
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            for arg in [*node.args.args, *node.args.kwonlyargs]:
                annotation = ast.unparse(arg.annotation) if arg.annotation else ""
                # A dict of anything is what JSON and Lambda events arrive as.
                raw = not annotation or annotation == "dict" or ("Any" in annotation and ("dict" in annotation or "Mapping" in annotation))
                if raw and arg.arg != "deps":
                    found.add((path.stem, node.name, arg.arg))
    return found


def test_no_use_case_takes_a_raw_body_query_or_event():
    assert _dict_parameters() == HANDED_ON


def test_the_check_sees_a_raw_parameter(tmp_path):
    """The rule can fail: a use case taking a query dict is found."""
    (tmp_path / "listing.py").write_text(
        "from typing import Any\n\n\ndef list_things(deps, params: dict[str, Any]) -> None:\n    pass\n"
    )

    assert _dict_parameters(tmp_path) == {("listing", "list_things", "params")}
