"""Hooks run without a shell unless `hook_shell = true`, and values (which may hold text from the CA) reach
them only as environment variables: nothing in a value or after a `;` is ever executed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EAB_HMAC, EAB_KID, Home

from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.service.hooks import run_hook

HOSTILE = ["$(touch {d}/dollar)", "`touch {d}/backtick`", "; touch {d}/semicolon", "| touch {d}/pipe",
           "&& touch {d}/and", "> {d}/redirect", "\n touch {d}/newline", "' \" \\ $HOME *"]
RECORDER = """import json, os, sys
json.dump({"argv": sys.argv[1:], "env": dict(os.environ)}, open(os.environ["ZT_RECORD"], "w"))
"""


@pytest.fixture
def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "record.py"
    script.write_text(RECORDER)
    monkeypatch.setenv("ZT_RECORD", str(tmp_path / "record.json"))
    return script


def created(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in ("record.py", "record.json"))


@pytest.mark.parametrize("shell", [False, True])
def test_values_with_shell_metacharacters_arrive_verbatim_and_run_nothing(tmp_path: Path, recorder: Path,
                                                                         shell: bool) -> None:
    values = {f"ZT_V{i}": text.format(d=tmp_path) for i, text in enumerate(HOSTILE)}
    log: list[str] = []
    assert run_hook(f"{sys.executable} {recorder}", values, timeout=30, shell=shell, log=log.append), log
    seen = json.loads((tmp_path / "record.json").read_text())
    assert {k: seen["env"][k] for k in values} == values
    assert created(tmp_path) == []


def test_without_a_shell_a_semicolon_is_just_an_argument(tmp_path: Path, recorder: Path) -> None:
    log: list[str] = []
    command = f"{sys.executable} {recorder} one; touch {tmp_path}/touched && echo $(touch {tmp_path}/sub)"
    assert run_hook(command, {}, timeout=30, shell=False, log=log.append), log
    argv = json.loads((tmp_path / "record.json").read_text())["argv"]
    assert argv == ["one;", "touch", f"{tmp_path}/touched", "&&", "echo", "$(touch", f"{tmp_path}/sub)"]
    assert created(tmp_path) == []


def test_with_hook_shell_the_value_is_expanded_but_never_executed(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    value = f"$(touch {tmp_path}/x); `touch {tmp_path}/y`"
    assert run_hook(f'printf %s "$ZT_ERROR_DETAIL" > {out}', {"ZT_ERROR_DETAIL": value}, timeout=30, shell=True,
                    log=print)
    assert out.read_text() == value
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_a_failing_hook_is_logged_by_program_name_only(tmp_path: Path) -> None:
    log: list[str] = []
    assert not run_hook(f"{sys.executable} -c 'import sys; sys.exit(3)' --token s3cret", {}, timeout=30,
                        shell=False, log=log.append)
    assert log and all("s3cret" not in line for line in log)
    assert not run_hook("/nonexistent/hook --password s3cret", {}, timeout=30, shell=False, log=log.append)
    assert "could not start" in log[-1] and "s3cret" not in log[-1]


@pytest.mark.pebble
def test_deploy_hook_from_the_cli_runs_without_a_shell_and_gets_no_secret(home: Home, pebble_eab: PebbleServer,
                                                                           recorder: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    home.run("provider", "add", "eab", "--directory", pebble_eab.directory, "--ca-bundle",
             str(pebble_eab.ca_bundle), "--eab-kid", EAB_KID, "--eab-hmac-key", EAB_HMAC, check=True)
    home.run("add", "h", "-d", "h.example.test", "--provider", "eab", "--http-port", str(pebble_eab.http_port),
             "--http-bind", "127.0.0.1", "--deploy-hook", f"{sys.executable} {recorder} ; touch {marker}",
             check=True)
    env = {**home.env(), "ZT_RECORD": str(tmp_path / "record.json")}
    done = subprocess.run([sys.executable, "-m", "zerossl_tui", "issue", "h"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads((tmp_path / "record.json").read_text())
    assert seen["argv"] == [";", "touch", str(marker)] and not marker.exists()
    assert seen["env"]["ZT_NAME"] == "h" and seen["env"]["ZT_DOMAINS"] == "h.example.test"
    assert seen["env"]["ZT_SERIAL"] and Path(seen["env"]["ZT_KEYFILE"]).is_file()
    assert not [k for k, v in seen["env"].items() if EAB_HMAC in v or "PRIVATE KEY" in v]
