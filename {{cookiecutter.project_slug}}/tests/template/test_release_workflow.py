# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""The release workflow deploys exactly the environments samconfig.toml has, each through OIDC, in order."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from samtranslator.yaml_helper import yaml_parse

from local.template_values import PROJECT_ROOT, load_template

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
{% raw -%}
INPUT_ENVIRONMENT, DEPLOY_ROLE = "${{ inputs.environment }}", "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
{%- endraw %}
PINNED = re.compile(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}")


def workflow(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((WORKFLOWS / name).read_text())
    loaded["on"] = loaded.pop(True, loaded.get("on"))  # YAML 1.1 reads the key `on` as true
    return loaded


@pytest.fixture(scope="module")
def environments() -> list[str]:
    samconfig = tomllib.loads((PROJECT_ROOT / "samconfig.toml").read_text())
    declared = load_template()["Parameters"]["Environment"]["AllowedValues"]
    sections = [section for section, value in samconfig.items() if isinstance(value, dict) and section != "default"]
    assert sections == declared
    return declared


def test_release_deploys_every_samconfig_environment_in_order(environments):
    release = workflow("release.yml")
    assert release["on"]["push"] == {"branches": ["main"]}
    assert release["permissions"] == {}
    jobs = release["jobs"]
    assert list(jobs) == environments
    for earlier, job in zip([None, *environments], environments, strict=False):
        assert jobs[job]["uses"] == "./.github/workflows/deploy.yml"
        assert jobs[job]["with"] == {"environment": job}
        assert jobs[job].get("needs") == earlier  # staging after dev, prod after staging
        assert jobs[job]["permissions"] == {"id-token": "write", "contents": "read"}
    assert release["concurrency"]["cancel-in-progress"] is False


def test_each_deploy_assumes_its_environments_role_through_oidc_then_smoke_tests():
    deploy = workflow("deploy.yml")
    assert deploy["permissions"] == {}
    [job] = deploy["jobs"].values()
    assert job["environment"] == INPUT_ENVIRONMENT  # its approval rule and its variables
    assert job["permissions"] == {"id-token": "write", "contents": "read"}
    steps = job["steps"]
    [credentials] = [step for step in steps if "configure-aws-credentials@" in step.get("uses", "")]
    assert credentials["with"]["role-to-assume"] == DEPLOY_ROLE
    commands = "\n".join(step.get("run", "") for step in steps)
    assert ".venv-sam/bin/sam build" in commands
    assert '.venv-sam/bin/sam deploy --config-env "$DEPLOY_ENVIRONMENT"' in commands
    assert commands.rstrip().endswith('make smoke ENV="$DEPLOY_ENVIRONMENT"')


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml", "release.yml"])
def test_actions_are_pinned_by_commit_and_no_stored_keys(name):
    text = (WORKFLOWS / name).read_text()
    for uses in re.findall(r"uses: (\S+)", text):
        assert uses.startswith("./") or PINNED.fullmatch(uses), uses
    assert "secrets." not in text and "aws-access-key-id" not in text


def test_the_deploy_role_trusts_only_its_environments_jobs_and_changes_only_its_stack(environments):
    role_template = yaml_parse((PROJECT_ROOT / "deploy" / "github-deploy-role.yaml").read_text())
    assert role_template["Parameters"]["Environment"]["AllowedValues"] == environments
    resources = role_template["Resources"]
    [trust] = resources["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    subject = trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
    assert subject == {"Fn::Sub": "repo:${GitHubRepository}:environment:${Environment}"}
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["name"]
    [policy] = resources["DeployRole"]["Properties"]["Policies"]
    statements = {statement["Sid"]: statement for statement in policy["PolicyDocument"]["Statement"]}
    stacks = [resource["Fn::Sub"] for resource in statements["ChangeThisStack"]["Resource"]]
    assert any(f":stack/{project}-" + "${Environment}/*" in stack for stack in stacks)
    outputs = role_template["Outputs"]
    assert {"DeployRoleArn", "CloudFormationExecutionRoleArn"} <= set(outputs)
    assert Path(PROJECT_ROOT / "deploy" / "github-deploy-role.yaml").read_text().count("*") < 40  # names, not wildcards
