"""Syntax checks of infra/ that need no Azure: Bicep, JSON, azure.yaml and checkov skips.

Runs in .venv-infra (scripts/check-infra), where pycep-parser and PyYAML are installed.
There is no Bicep compiler offline, so pycep checks syntax and structure only; checkov
cannot be trusted for that, as it reports a Bicep syntax error as a parsing error and still
exits 0. Every checkov skip must say why, next to the resource it concerns.

    python scripts/check_infra_syntax.py [ROOT]

Prints one line per problem and exits 1 if there is any.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml
from pycep import BicepParser

# A skip without a reason would pass checkov silently; one per line, so each has its own.
SKIP_COMMENT = re.compile(r"checkov:skip=(?P<check>[^:\s]*)(?::(?P<reason>.*))?")
MIN_REASON_WORDS = 5


def check_bicep(path: Path, parser: BicepParser) -> list[str]:
    """Parse one Bicep file; a syntax error is a problem."""
    try:
        parser.parse(file_path=path)
    except Exception as exc:  # noqa: BLE001 - pycep raises lark's many error types
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [f"{path}: Bicep does not parse: {first_line}"]
    return []


def check_skips(path: Path) -> list[str]:
    """Every ``checkov:skip=`` names one check and gives a reason of a few words."""
    problems = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = SKIP_COMMENT.search(line)
        if match is None:
            continue
        check, reason = match["check"], (match["reason"] or "").strip()
        if not re.fullmatch(r"CKV2?_[A-Z]+_\d+", check):
            problems.append(f"{path}:{number}: skip one check per line, by id ({check!r})")
        if len(reason.split()) < MIN_REASON_WORDS:
            problems.append(f"{path}:{number}: the skip of {check} needs a reason")
    return problems


def check_json(path: Path) -> list[str]:
    """Load one JSON file, as ``python -m json.tool`` would."""
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        return [f"{path}: invalid JSON: {exc}"]
    return []


def check_azure_yaml(path: Path) -> list[str]:
    """azure.yaml loads and names the one service the templates tag (azd-service-name: api)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return [f"{path}: invalid YAML: {exc}"]
    service = (document or {}).get("services", {}).get("api", {})
    if service.get("host") != "function" or service.get("language") != "python":
        return [f"{path}: expected service 'api' with host 'function' and language 'python'"]
    return []


def main(root: Path) -> int:
    """Run every check under ``root``; returns the exit code."""
    infra = root / "infra"
    bicep_files = sorted(infra.rglob("*.bicep"))
    if not bicep_files:
        print(f"no Bicep files under {infra}")
        return 1
    parser = BicepParser()
    problems: list[str] = []
    for path in bicep_files:
        problems += check_bicep(path, parser) + check_skips(path)
    json_files = sorted(infra.rglob("*.json"))
    for path in json_files:
        problems += check_json(path)
    problems += check_azure_yaml(root / "azure.yaml")
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{len(bicep_files)} Bicep and {len(json_files)} JSON files load; azure.yaml ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]))
