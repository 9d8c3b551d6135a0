"""`sei-watch completion bash|zsh|fish`: shell completion for every command and option, made
from the command line's own grammar, so it never falls behind it."""

from __future__ import annotations

import argparse
from typing import Any

from sei_watch.status import ExitStatus

from .args import build_parser

__all__ = ["cmd_completion", "script"]


def _grammar() -> tuple[list[str], dict[str, list[str]]]:
    """The top-level options and commands, and each command's options (and actions)."""
    parser = build_parser()
    top = [s for a in parser._actions for s in a.option_strings if s.startswith("--")]
    commands: dict[str, list[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                words = [s for a in sub._actions for s in a.option_strings if s.startswith("--")]
                for inner in sub._actions:  # `outbox list`, `outbox show`, ...
                    if isinstance(inner, argparse._SubParsersAction):
                        words += list(inner.choices)
                commands[name] = sorted(set(words))
    return sorted(set(top)), commands


def script(shell: str) -> str:
    top, commands = _grammar()
    names = " ".join(sorted(commands))
    if shell in ("bash", "zsh"):
        cases = "\n".join(
            f'    {name}) opts="{" ".join(words)}" ;;' for name, words in sorted(commands.items())
        )
        body = f"""_sei_watch() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" opts
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "{names} {" ".join(top)}" -- "$cur"))
    return
  fi
  case "${{COMP_WORDS[1]}}" in
{cases}
    *) opts="" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur") $(compgen -f -- "$cur"))
}}
complete -F _sei_watch sei-watch
"""
        return ("autoload -U +X bashcompinit && bashcompinit\n" + body) if shell == "zsh" else body
    lines = [f"complete -c sei-watch -n __fish_use_subcommand -a '{names}'"]
    lines += [f"complete -c sei-watch -n __fish_use_subcommand -l {t[2:]}" for t in top]
    for name, words in sorted(commands.items()):
        for word in words:
            flag = f"-l {word[2:]}" if word.startswith("--") else f"-a {word}"
            lines.append(f"complete -c sei-watch -n '__fish_seen_subcommand_from {name}' {flag}")
    return "\n".join(lines) + "\n"


def cmd_completion(args: argparse.Namespace, io: Any) -> ExitStatus:
    """Print the completion script for a shell (source it from the shell's startup file)."""
    io.stdout.write(script(args.shell))
    return ExitStatus.OK
