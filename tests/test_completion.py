"""Shell completion (issue #19, item 7): `sei-watch completion SHELL`, made from the CLI's own
grammar; the bash script is run by bash for real."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sei_watch.cli.completion import script


def _complete(words: list[str]) -> list[str]:
    """Source the bash script and ask it to complete `words`, as bash's completion would."""
    src = script("bash")
    line = " ".join(words)
    code = (
        f"{src}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _sei_watch; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    out = subprocess.run(["bash", "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_bash_completes_commands_and_their_options() -> None:
    """`sei-watch pa<TAB>` offers parse and parsers; `parse --so<TAB>` offers --soft-fail;
    `outbox <TAB>` offers its actions."""
    assert {"parse", "parsers"} <= set(_complete(["sei-watch", "pa"]))
    assert "--soft-fail" in _complete(["sei-watch", "parse", "--so"])
    assert {"list", "import", "flush"} <= set(_complete(["sei-watch", "outbox", ""]))


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts(shell: str) -> None:
    """The zsh script loads bash completion first; the fish one names every command. Each is
    checked by its shell where that shell is installed."""
    text = script(shell)
    assert "backfill" in text
    assert "--soft-fail" in text or "-l soft-fail" in text
    if shutil.which(shell):
        subprocess.run([shell, "-n", "-c", text], check=True)


def test_completion_command_prints_the_script(run_cli) -> None:
    """`sei-watch completion bash` prints the same script."""
    res = run_cli("completion", "bash")
    assert res.status == 0
    assert res.out == script("bash")


def test_every_flag_has_help() -> None:
    """Every option and argument of every command says what it is for in --help."""
    import argparse

    from sei_watch.cli.args import build_parser

    missing: list[str] = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            elif action.help is None and not isinstance(action, argparse._HelpAction):
                missing.append(f"{path} {action.option_strings or action.dest}")

    walk(build_parser(), "sei-watch")
    assert missing == []


def test_global_options_first_choices_and_nested_options() -> None:
    """Global options may come before the command (`--log-format json parse --so<TAB>`);
    an option's choices are offered after it (`--log-format <TAB>`, `outbox list --state
    <TAB>`); a nested action's options are offered under its command."""
    assert "--soft-fail" in _complete(["sei-watch", "--log-format", "json", "parse", "--so"])
    assert set(_complete(["sei-watch", "--log-format", ""])) == {"auto", "json", "console"}
    assert {"pending", "dead"} <= set(_complete(["sei-watch", "outbox", "list", "--state", ""]))
    assert "--state" in _complete(["sei-watch", "outbox", "list", "--st"])


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_from_its_own_engine(tmp_path: Path) -> None:
    """fish, driven by `complete -C`, offers the commands and an option's choices."""
    src = tmp_path / "sei-watch.fish"
    src.write_text(script("fish"))
    out = subprocess.run(
        ["fish", "-c",
         f"source {src}; complete -C 'sei-watch pa'; complete -C 'sei-watch --log-format '"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    words = {line.split("\t")[0] for line in out.splitlines()}
    assert {"parse", "parsers", "json", "console"} <= words


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_runs_the_same_function() -> None:
    """zsh loads the script (compinit, bashcompinit) and runs its function as bashcompinit
    calls it (ksharrays set), completing as bash does."""
    src = script("zsh")
    code = (
        f"{src}\nsetopt ksharrays; COMP_WORDS=(sei-watch parse --so); COMP_CWORD=2; _sei_watch; "
        'print -l -- "${COMPREPLY[@]}"'
    )
    out = subprocess.run(["zsh", "-c", code], capture_output=True, text=True, check=True)
    assert "--soft-fail" in out.stdout.split()


def test_the_command_names_known_up_front_are_the_commands_built() -> None:
    """`build_parser` builds only the command on the command line, so the commands it knows
    by name must be every command argparse knows and the CLI runs; and building one command
    parses that command's line as building all of them does."""
    import argparse

    from sei_watch.cli.args import build_parser
    from sei_watch.cli.entry import COMMANDS

    full = build_parser()
    (sub,) = [a for a in full._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(sub.choices) == set(COMMANDS)
    line = ["--log-level", "debug", "parse", "ws", "--set", "pipeline=p", "--post", "--json"]
    assert vars(build_parser(line).parse_args(line)) == vars(full.parse_args(line))
    one = build_parser(["parse", "x"])
    (only,) = [a for a in one._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(only.choices) == {"parse"}
