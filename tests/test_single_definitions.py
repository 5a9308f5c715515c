"""Each naming rule and choice list has one definition: a second copy anywhere in the template fails here.

The rules live in the project's tools/render_rules.py (what the options become) and, for the names deployed
code uses too, the runtime's pipeline_runtime/naming.py; Jinja (jinja_globals.py), both hooks and the
tests read them. The choice lists live in cookiecutter.json.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import DEFAULTS, RENDER_RULES_FILE, RUNTIME_DIR, TEMPLATE_DIR

NAMING_FILE = RUNTIME_DIR / "naming.py"
HOME = {  # the one file each rule is defined in
    "step-list parsing": RENDER_RULES_FILE,
    "logical-id rule": RENDER_RULES_FILE,
    "function-name variable rule": NAMING_FILE,
}
SKIPPED_PARTS = {".git", ".venv", ".venv-sam", ".demo", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}
RULES = {
    "step-list parsing": re.compile(r"""split\(\s*['"],['"]\s*\)|re\.split\(\s*r?['"][^'"]*,"""),
    "logical-id rule": re.compile(r"""capitalize|\.title\(\)|\+\s*['"]Function['"]|\}Function"""),
    # Lambda's own AWS_LAMBDA_FUNCTION_NAME is not the rule
    "function-name variable rule": re.compile(r"""(?<!AWS_LAMBDA)_FUNCTION_NAME['"]|upper\(\)\s*\}?_FUNCTION"""),
}


def template_files() -> list[Path]:
    return [
        path
        for path in TEMPLATE_DIR.rglob("*")
        if path.is_file()
        and not SKIPPED_PARTS & set(path.relative_to(TEMPLATE_DIR).parts)
        and path.suffix in {".py", ".yaml", ".yml", ".md", ".toml", ".json", ".txt", ""}
        and path != Path(__file__)
    ]


def copies(rule: re.Pattern[str], files: list[Path], home: Path | None = None) -> list[str]:
    return [
        f"{path.relative_to(TEMPLATE_DIR)}:{number}"
        for path in files
        if path != home
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if rule.search(line)
    ]


@pytest.mark.parametrize("rule", RULES, ids=RULES)
def test_a_naming_rule_is_defined_only_in_its_home(rule):
    assert re.search(RULES[rule], HOME[rule].read_text()), f"{HOME[rule].name} no longer holds the {rule}"
    assert copies(RULES[rule], template_files(), HOME[rule]) == []


@pytest.mark.parametrize("rule", RULES, ids=RULES)
def test_the_check_finds_a_planted_copy(tmp_path, rule):
    planted = {
        "step-list parsing": 'steps = answers["step_names"].split(",")',
        "logical-id rule": "{{ step.split('_') | map('capitalize') | join }}Function",
        "function-name variable rule": 'os.environ[f"{step.upper()}_FUNCTION_NAME"]',
    }[rule]
    copy = TEMPLATE_DIR / "tests" / f"planted_{tmp_path.name}.py"
    try:
        copy.write_text(planted + "\n")
        assert copies(RULES[rule], [copy]) == [f"tests/{copy.name}:1"]
    finally:
        copy.unlink()


def test_the_option_check_reads_the_choice_lists_from_cookiecutter_json():
    # The post-generation hook names the one mode whose files it prunes; the option check names none.
    choices = [value for values in DEFAULTS.values() if isinstance(values, list) for value in values]
    hook = (TEMPLATE_DIR / "hooks" / "pre_gen_project.py").read_text()
    assert [value for value in choices if f'"{value}"' in hook] == []
