"""Every `curl` in docs/api.md works: run against a live server, with the status it shows."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.api_world import _PNG, build_world

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BLOCK = re.compile(r"```sh\n# → (\d{3})\n(curl .*?)\n```", re.S)


def documented_commands():
    text = DOC.read_text()
    found = BLOCK.findall(text)
    assert len(found) == text.count("```sh"), "every sh block starts with `# → <status>`"
    return [(int(status), command) for status, command in found]


def test_the_page_has_its_examples():
    assert len(documented_commands()) >= 6


@pytest.mark.django_db(transaction=True)
def test_every_curl_in_the_api_docs_answers_as_documented(live_server, tmp_path):
    world = build_world()
    (tmp_path / "screenshot.png").write_bytes(_PNG)
    env = {
        **os.environ,
        "BASE": live_server.url,
        "TOKEN": world.tokens["customer"],
        "AGENT_TOKEN": world.tokens["agent"],
        "LEAD_TOKEN": world.tokens["lead"],
        "ADMIN_TOKEN": world.tokens["admin"],
        "TICKET": world.tickets["customer"].number,
        "BOOKING": str(world.booking_id),
    }
    for expected, command in documented_commands():
        out = tmp_path / "body"
        run = subprocess.run(
            ["bash", "-c", f'{command} -o "{out}" -w "%{{http_code}}"'],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert run.returncode == 0, (command, run.stderr)
        assert run.stdout == str(expected), (command, run.stdout, out.read_text())
