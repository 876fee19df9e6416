"""The repository stands alone: no file points at documents a person who clones it does not have.

What the code relies on from the contract lives in openapi.yaml and docs/contract.md, the product
rules and AWS quotas in docs/limits.md. A reference to notes kept outside the repository (a
shared folder beside it, with facts, conventions or API notes) would send a newcomer looking for a
file that is not there.
"""
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Spelled in pieces so that this file does not name them itself.
OUTSIDE = re.compile(
    "|".join(re.escape(name) for name in ("../" + "shared", "FACTS" + ".md", "API" + ".md", "CONVENTIONS" + ".md"))
)
# Folders that are not the project's own text: installed packages, build output, local data.
NOT_OURS = {".git", ".venv", "node_modules", ".local", "__pycache__", "cdk.out", ".pytest_cache", "vendor"}


def project_files():
    """The files git tracks or would track (untracked but not ignored); without git, the tree."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout.decode().split("\0")
        paths = [ROOT / name for name in listed if name]
    except (OSError, subprocess.CalledProcessError):
        paths = [p for p in ROOT.rglob("*") if p.is_file()]
    return [p for p in paths if p.is_file() and not NOT_OURS & set(p.relative_to(ROOT).parts)]


def outside_references(paths, root=ROOT):
    found = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files (images, archives) name no documents
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()[:120]}")
    return found


def test_no_file_names_a_document_outside_the_repository():
    files = project_files()
    assert len(files) > 100  # the walk really saw the project
    assert outside_references(files) == []


def test_the_check_sees_each_outside_name(tmp_path):
    lines = [
        "The HTTP contract is `../" "shared/notes.md`.",
        "# Product rules (FACTS" ".md).",
        '"""Wrap a view: any DomainError becomes the API' '.md error."""',
        "see CONVENTIONS" ".md",
    ]
    for i, line in enumerate(lines):
        (tmp_path / f"f{i}.py").write_text(f"x = 1\n{line}\n")
    (tmp_path / "clean.md").write_text("The contract is openapi.yaml (docs/contract.md).\n")
    found = outside_references(sorted(tmp_path.iterdir()), tmp_path)
    assert len(found) == len(lines)
    assert not any("clean.md" in f for f in found)
