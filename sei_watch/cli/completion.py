"""`sei-watch completion bash|zsh|fish`: shell completion for every command and option, made
from the command line's own grammar, so it never falls behind it."""

from __future__ import annotations

import argparse
from typing import Any

from sei_watch.status import ExitStatus

from .args import build_parser

__all__ = ["cmd_completion", "script"]


def _walk(parser: argparse.ArgumentParser, choices: dict[str, list[str]]) -> list[str]:
    """The parser's long options (and those of its own subcommands, `outbox list --state`),
    noting each option's fixed choices in `choices`."""
    words: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                words.append(name)
                words += _walk(sub, choices)
            continue
        longs = [s for s in action.option_strings if s.startswith("--")]
        words += longs
        if action.choices and longs:
            for opt in longs:
                choices[opt] = [str(c) for c in action.choices]
    return words


def _grammar() -> tuple[list[str], dict[str, list[str]], dict[str, list[str]]]:
    """The global options, each command's words (options, actions, their options) and every
    option's choices."""
    parser = build_parser()
    choices: dict[str, list[str]] = {}
    top = [
        s
        for a in parser._actions
        if not isinstance(a, argparse._SubParsersAction)
        for s in a.option_strings
        if s.startswith("--")
    ]
    for a in parser._actions:
        if a.choices and not isinstance(a, argparse._SubParsersAction):
            for s in a.option_strings:
                choices[s] = [str(c) for c in a.choices]
    commands: dict[str, list[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                commands[name] = sorted(set(_walk(sub, choices)))
    return sorted(set(top)), commands, choices


def script(shell: str) -> str:
    top, commands, choices = _grammar()
    names = " ".join(sorted(commands))
    if shell in ("bash", "zsh"):
        values = "\n".join(
            f'    {opt}) COMPREPLY=($(compgen -W "{" ".join(vals)}" -- "$cur")); return ;;'
            for opt, vals in sorted(choices.items())
        )
        cases = "\n".join(
            f'    {name}) opts="{" ".join(words)}" ;;' for name, words in sorted(commands.items())
        )
        body = f"""_sei_watch() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="" cmd="" i opts
  [ "$COMP_CWORD" -gt 0 ] && prev="${{COMP_WORDS[COMP_CWORD-1]}}"
  case "$prev" in
{values}
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    case " {names} " in *" ${{COMP_WORDS[i]}} "*) cmd="${{COMP_WORDS[i]}}"; break ;; esac
  done
  if [ -z "$cmd" ]; then
    COMPREPLY=($(compgen -W "{names} {" ".join(top)}" -- "$cur"))
    return
  fi
  case "$cmd" in
{cases}
    *) opts="" ;;
  esac
  COMPREPLY=($(compgen -W "$opts {" ".join(top)}" -- "$cur") $(compgen -f -- "$cur"))
}}
complete -F _sei_watch sei-watch
"""
        # zsh runs the bash function through bashcompinit (which needs compinit loaded first,
        # and calls it with ksharrays set: 0-based arrays, as bash's).
        head = (
            "(( $+functions[compdef] )) || { autoload -U +X compinit && compinit -u; }\n"
            "autoload -U +X bashcompinit && bashcompinit\n"
        )
        return (head + body) if shell == "zsh" else body
    lines = [f"complete -c sei-watch -n __fish_use_subcommand -a '{names}'"]
    for t in top:
        vals = choices.get(t)
        extra = f" -xa '{' '.join(vals)}'" if vals else ""
        lines.append(f"complete -c sei-watch -l {t[2:]}{extra}")
    for name, words in sorted(commands.items()):
        for word in words:
            if word.startswith("--"):
                vals = choices.get(word)
                flag = f"-l {word[2:]}" + (f" -xa '{' '.join(vals)}'" if vals else "")
            else:
                flag = f"-a {word}"
            lines.append(f"complete -c sei-watch -n '__fish_seen_subcommand_from {name}' {flag}")
    return "\n".join(lines) + "\n"


def cmd_completion(args: argparse.Namespace, io: Any) -> ExitStatus:
    """Print the completion script for a shell (source it from the shell's startup file)."""
    io.stdout.write(script(args.shell))
    return ExitStatus.OK
