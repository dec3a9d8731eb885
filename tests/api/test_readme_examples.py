"""Every command in the README's "Using it" and "What it does" sections, run on the demo data.

The commands are read from the README itself (its `sh` blocks), so an example that stops
working, or a new one nobody checked, fails here. Each `curl` is replayed through the app as
curl would send it (a `-d` body without `-H "$J"` goes as a form, as curl does) and must give a
real, non-empty answer. The README's ids and versions are placeholders its reader replaces with
those of their own answers, and so does this test. `homeward` commands run through the CLI,
except the transport imports (the demo already loaded the Amtrak timetable they describe).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import SHARED_DATA
from api.cli import app as cli
from api.config import Settings
from core.clock import utcnow
from tests.conftest import TEST_KEY

README = Path(__file__).resolve().parents[2] / "README.md"
SERVER = "http://127.0.0.1:8000"


def readme_commands() -> list[str]:
    """The shell commands of the two sections, continuation lines and open quotes joined."""
    text = README.read_text(encoding="utf-8")
    part = text[text.index("\n## Using it"):text.index("\n## Web pages")]
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", part, re.DOTALL):
        buffer = ""
        for line in block.splitlines():
            buffer = f"{buffer}\n{line}" if buffer else line
            if buffer.endswith("\\"):
                buffer = buffer[:-1]
                continue
            try:
                shlex.split(buffer, comments=True)
            except ValueError:  # a quote is still open: the command goes on
                continue
            if buffer.strip() and not buffer.lstrip().startswith("#"):
                commands.append(buffer.strip())
            buffer = ""
        assert not buffer, f"unfinished command in the README: {buffer!r}"
    return commands


@dataclass
class Reader:
    """A newcomer following the README: shell variables, and ids taken from earlier answers."""

    client: TestClient
    env: dict[str, str]
    cli_env: dict[str, str]
    has_timetable: bool
    answers: dict[str, Any] = field(default_factory=dict)

    def expand(self, text: str) -> str:
        return re.sub(r"\$(\w+)", lambda m: self.env[m.group(1)], text)

    def run(self, command: str) -> None:
        if assignments := re.fullmatch(r'(\w+="[^"]*"(?:;\s*)?)+', command):
            for name, value in re.findall(r'(\w+)="([^"]*)"', assignments.group(0)):
                self.env[name] = self.expand(value)
        elif found := re.fullmatch(r"(\w+)=\$\(date -u -d tomorrow \+%F\)\s*(?:#.*)?", command):
            self.env[found.group(1)] = (utcnow() + timedelta(days=1)).date().isoformat()
        elif found := re.fullmatch(r"export (\w+)=\$\((?:\S*/)?homeward (.*)\)", command):
            result = CliRunner().invoke(cli, shlex.split(found.group(2)), env=self.cli_env)
            assert result.exit_code == 0, result.output
            self.env[found.group(1)] = result.output.strip()
        elif command.startswith("homeward transport"):
            pass  # the demo loaded the Amtrak timetable these describe
        elif "/v1/itineraries/search" in command and not self.has_timetable:
            pass  # without the shared Amtrak data the demo has no timetable to search
        elif command.startswith("curl "):
            self.curl(command)
        elif command.startswith("homeward "):
            args = shlex.split(command, comments=True)[1:]
            result = CliRunner().invoke(cli, args, env=self.cli_env)
            assert result.exit_code == 0, result.output
        else:
            raise AssertionError(f"a README command this test does not know: {command}")

    def curl(self, command: str) -> None:
        expected = re.search(r"#\s*(\d{3})\b", command.split("'")[-1])
        args = iter(shlex.split(self.expand(self.placeholders(command)), comments=True)[1:])
        method, url, body, headers = "", "", None, {}
        for arg in args:
            if arg == "-s":
                continue
            if arg == "-H":
                name, value = next(args).split(":", 1)
                headers[name.strip()] = value.strip()
            elif arg == "-X":
                method = next(args)
            elif arg == "-d":
                body = next(args)
                # What curl sends with -d unless told otherwise.
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            elif arg.startswith(SERVER):
                url = arg[len(SERVER):]
            else:
                raise AssertionError(f"a curl option this test does not know: {arg}")
        method = method or ("POST" if body is not None else "GET")
        response = self.client.request(method, url, content=body, headers=headers)
        status = int(expected.group(1)) if expected else None
        if status is not None:
            assert response.status_code == status, (command, response.text)
        else:
            assert 200 <= response.status_code < 300, (command, response.text)
        route = re.sub(r"/\d+", "/{id}", url.split("?")[0])
        self.answers[f"{method} {route}"] = response.json()
        if status is None:
            self.check_real_answer(method, route, response.json())

    def placeholders(self, command: str) -> str:
        """The README's example ids and versions, replaced as its reader would."""
        if "/holds" in command and "/v1/shelters/7/" in command:
            found = self.answers["GET /v1/shelters"]["items"]
            shelter = next(i["shelter"]["id"] for i in found
                           if any(b["bed_type"] == "adult_female" and b["available"] > 0
                                  for b in i["beds"]))
            return command.replace("/v1/shelters/7/", f"/v1/shelters/{shelter}/")
        if "/v1/holds/12/" in command:
            hold = self.answers["POST /v1/shelters/{id}/holds"]["id"]
            return command.replace("/v1/holds/12/", f"/v1/holds/{hold}/")
        if "/v1/shelters/7/beds/adult_female" in command:
            shelter, version = self.coordinator_beds()
            return (command.replace("/v1/shelters/7/", f"/v1/shelters/{shelter}/")
                    .replace("'If-Match: \"3\"'", f"'If-Match: \"{version}\"'"))
        return command

    def coordinator_beds(self) -> tuple[int, int]:
        """A shelter the coordinator runs with women's beds, and their version."""
        auth = {"Authorization": f"Bearer {self.env['COORD']}"}
        me = self.client.get("/v1/me", headers=auth).json()
        found = self.client.get("/v1/shelters?near=38.8973,-77.0063&radius_km=30&limit=100"
                                "&min_available=0", headers=auth).json()["items"]
        shelter = next(i["shelter"]["id"] for i in found
                       if i["shelter"]["agency_id"] == me["agency_id"]
                       and any(b["bed_type"] == "adult_female" for b in i["beds"]))
        beds = self.client.get(f"/v1/shelters/{shelter}/beds/adult_female", headers=auth).json()
        return shelter, beds["version"]

    def check_real_answer(self, method: str, route: str, answer: Any) -> None:
        if route == "/v1/shelters":
            assert answer["items"], "no shelter near Union Station"
        elif route == "/v1/shelters/{id}/holds":
            assert answer["id"] and answer["beds"] == 1
        elif route.endswith("/beds/adult_female"):
            assert (answer["total"], answer["occupied"]) == (24, 17)
        elif route.endswith("/admit"):
            assert answer["occupied"] == 19
        elif route == "/v1/matches":
            assert answer["options"], answer["excluded"]
            assert all(o["state"] == "TX" for o in answer["options"])
        elif route == "/v1/itineraries/search":
            assert answer["itineraries"], answer["reasons"]
        elif route == "/v1/me":
            assert answer["name"] == "maria"


def test_the_readme_lists_the_examples_this_test_knows() -> None:
    routes = [re.search(r"/v1/[\w/]+", c).group(0)  # type: ignore[union-attr]
              for c in readme_commands() if c.startswith("curl")]
    assert routes == ["/v1/me", "/v1/me", "/v1/shelters", "/v1/shelters/7/holds",
                      "/v1/holds/12/confirm", "/v1/shelters/7/beds/adult_female",
                      "/v1/shelters/7/beds/adult_female/admit", "/v1/matches",
                      "/v1/itineraries/search"]


def test_every_readme_example_answers_on_the_demo_data(settings: Settings,
                                                       client: TestClient) -> None:
    cli_env = {"HOMEWARD_DATABASE_URL": settings.database_url, "HOMEWARD_SECRET_KEY": TEST_KEY}
    demo = CliRunner().invoke(cli, ["demo", "--no-serve"], env=cli_env)
    assert demo.exit_code == 0, demo.output
    coordinator = re.search(r"^\s+demo-shelter-coordinator\s+\S+\s+(hw_\S+)$", demo.output,
                            re.MULTILINE)
    assert coordinator, demo.output
    reader = Reader(client=client, env={"COORD": coordinator.group(1)}, cli_env=cli_env,
                    has_timetable=SHARED_DATA.is_dir())
    for command in readme_commands():
        reader.run(command)
    assert ("POST /v1/itineraries/search" in reader.answers) == reader.has_timetable
    assert len(reader.answers) == (8 if reader.has_timetable else 7)
