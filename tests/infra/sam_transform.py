"""``template.yaml`` after SAM's transform, offline: what CloudFormation would create (no AWS call).

``python -m tests.infra.sam_transform`` prints the resource count by type.
"""

from __future__ import annotations

import copy
import functools
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from local_stack.template import REGION, TEMPLATE, Template, load_yaml

# Local artefact paths that `sam build`/`sam deploy` turn into S3 locations; the transform only needs a valid one.
_ARTEFACT_KEYS = ("CodeUri", "ContentUri", "DefinitionUri")


def transform(doc: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation template SAM makes of ``doc`` (a loaded SAM template)."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    doc = copy.deepcopy(doc)
    for logical_id, resource in doc.get("Resources", {}).items():
        props = resource.get("Properties") or {}
        for key in _ARTEFACT_KEYS:
            if isinstance(props.get(key), str):
                props[key] = f"s3://artefacts/{logical_id}"
    translator = Translator({}, Parser(), boto_session=boto3.Session(region_name=REGION))
    # Managed policies are attached by ARN (AWSLambdaBasicExecutionRole ...): no name-to-ARN map is needed.
    result: dict[str, Any] = translator.translate(doc, {}, get_managed_policy_map=lambda: {})
    return result


@functools.cache
def _transformed(path: Path) -> str:
    return json.dumps(transform(load_yaml(path)))


def transformed(path: Path = TEMPLATE) -> dict[str, Any]:
    """The transformed template (a fresh copy; the transform itself runs once per path)."""
    return dict(json.loads(_transformed(path)))


def as_template(doc: dict[str, Any]) -> Template:
    """A local ``Template`` (intrinsic resolution) over a transformed document."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(doc, fh)
    path = Path(fh.name)
    try:
        return Template(path)
    finally:
        path.unlink()


if __name__ == "__main__":
    counts = Counter(r["Type"] for r in transformed(Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE)
                     ["Resources"].values())
    for rtype, n in counts.most_common():
        print(f"{n:5} {rtype}")
    print(f"{sum(counts.values()):5} resources after SAM's transform (CloudFormation's limit: 500)")
