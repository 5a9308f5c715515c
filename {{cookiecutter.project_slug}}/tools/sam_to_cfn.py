# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Translate template.yaml to CloudFormation offline, with the same library SAM CLI uses.

    python tools/sam_to_cfn.py template.yaml build/template.json [Environment=prod ...]

Local CodeUri and ContentUri folders stand in as placeholder S3 locations (what `sam package` would upload),
and managed policy names resolve to their AWS ARNs without calling IAM.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("AWS_DEFAULT_REGION", "{{ cookiecutter.aws_region }}")  # only the partition is looked up

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse


class OfflinePolicyMap(dict):
    """Any AWS managed policy name -> its ARN, with no IAM call."""

    def __missing__(self, name: str) -> str:
        return f"arn:aws:iam::aws:policy/{name}"

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and not name.startswith("arn:")


CODE_LOCATIONS = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


def with_placeholder_code(sam: dict[str, Any]) -> dict[str, Any]:
    for resource in sam.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        location = CODE_LOCATIONS.get(resource.get("Type"))
        uri = properties.get(location) if location else None
        if isinstance(uri, str) and "://" not in uri:
            properties[location] = "s3://local-placeholder/" + uri.strip("./")
    return sam


def translate(template_path: Path, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The CloudFormation template SAM would deploy; raises ValueError listing SAM's complaints."""
    return translate_document(yaml_parse(template_path.read_text(encoding="utf-8")), parameters)


def translate_document(sam: dict[str, Any], parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """`translate` for a template already parsed (a test may change it first)."""
    sam = with_placeholder_code(sam)
    try:
        return Translator(None, Parser()).translate(
            sam, parameter_values=parameters or {}, get_managed_policy_map=lambda: OfflinePolicyMap()
        )
    except InvalidDocumentException as error:
        raise ValueError("\n".join(cause.message for cause in error.causes)) from error


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    parameters = dict(argument.split("=", 1) for argument in argv[2:])
    try:
        cloudformation = translate(Path(argv[0]), parameters)
    except ValueError as error:
        print(f"SAM translation failed:\n{error}", file=sys.stderr)
        return 1
    output = Path(argv[1])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(cloudformation, indent=2, sort_keys=True, default=str) + "\n")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
