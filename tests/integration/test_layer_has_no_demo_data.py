"""The SharedLayer ships no demo data: no sample registry records, no seeding code, no demo people.

The files checked are exactly what ``shared/Makefile``'s ``build-SharedLayer`` copies into the layer: its
``tar`` command is read from the Makefile and run here (listing, not extracting), so a change of what the
layer holds changes what this test checks. Demo data lives in ``local_stack/`` (``demo_data.py``, ``seed.py``).
"""

from __future__ import annotations

import ast
import io
import re
import shlex
import subprocess
import tarfile

import pytest

from local_stack.demo_data import SAMPLE_RECORDS
from local_stack.seed import DEMO_USERS
from local_stack.template import ROOT

SHARED = ROOT / "shared"


def _layer_files() -> dict[str, bytes]:
    """Path -> content of every file the layer build copies to ``python/shared`` (from the Makefile's tar)."""
    recipe = (SHARED / "Makefile").read_text().split("build-SharedLayer:", 1)[1]
    copy = next(line.strip() for line in recipe.splitlines() if line.strip().startswith("tar "))
    create = shlex.split(copy.split("|", 1)[0])
    assert "-cf" in create and create[-1] == ".", f"unexpected layer copy command: {copy}"
    archive = subprocess.run(create, cwd=SHARED, capture_output=True, check=True).stdout  # noqa: S603 - the Makefile's own command
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name.removeprefix("./"): tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers() if m.isfile()}


LAYER = _layer_files()
DEMO_VALUES = sorted({v for record in SAMPLE_RECORDS for v in record.fields.values()} | set(DEMO_USERS))


def test_the_layer_is_what_the_makefile_copies() -> None:
    assert "identity/adapters.py" in LAYER and "campaigns/wiring.py" in LAYER
    assert not [p for p in LAYER if "__pycache__" in p or p in ("Makefile", "requirements.txt")]


@pytest.mark.parametrize("value", DEMO_VALUES)
def test_no_demo_person_or_record_value_is_in_the_layer(value: str) -> None:
    pattern = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.IGNORECASE)
    found = [path for path, content in LAYER.items() if pattern.search(content.decode("utf-8", "replace"))]
    assert not found, f"demo value {value!r} ships in the SharedLayer: {found}"


def test_no_sample_records_or_seeding_code_in_the_layer() -> None:
    offenders = []
    for path, content in LAYER.items():
        if not path.endswith(".py"):
            continue
        for node in ast.walk(ast.parse(content, filename=path)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "seed" in node.name.lower():
                offenders.append(f"{path}: def {node.name}")
            names = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.append(node.target.id)
            offenders += [f"{path}: {n}" for n in names if re.search(r"SAMPLE|DEMO", n, re.IGNORECASE)]
        if b"SAMPLE_RECORDS" in content:
            offenders.append(f"{path}: mentions SAMPLE_RECORDS")
    assert not offenders, offenders
