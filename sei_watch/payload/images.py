"""Container artifacts that link what they should, and nothing else.

SEI links a CI run to a CD run on `type = container` artifacts whose (name, qualifier) — or
(name, qualifier, location), or hash — match, in both directions and whatever `input`/`output`
say. So:

- a mutable tag (`latest`, `main`, a branch name, `edge`, `nightly`…) would link every build
  that pushed it to every deployment of it: when the same image also has an immutable tag or a
  digest, the mutable one goes to the artifact's metadata (`mutable_tags`) instead; with only a
  digest beside it, the digest becomes the qualifier;
- Harness CD records an image pinned as `cart:1.14.2@sha256:…` with the qualifier
  `1.14.2@sha256:…`: where a tag and a digest are both known, that qualifier is sent too;
- a manifest written in the old naming (the registry path in `name`, the tag in `location`)
  is split the way SEI names images (location `registry/namespace`, name the last segment,
  qualifier the tag), with a problem that says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from sei_watch.records import Artifact, ParseProblem

__all__ = ["MUTABLE_TAGS", "link_ready"]

MUTABLE_TAGS = frozenset(
    {"latest", "main", "master", "trunk", "develop", "dev", "edge", "nightly", "stable", "head",
     "canary", "snapshot", "next"}
)  # fmt: skip
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")


def _split(reference: str) -> tuple[str, str, str]:
    """(location, name, tag) of `registry/namespace/name[:tag]`."""
    repo, tag = reference, ""
    slash, colon = reference.rfind("/"), reference.rfind(":")
    if colon > slash:
        repo, tag = reference[:colon], reference[colon + 1 :]
    location, _, name = repo.rpartition("/")
    return location, name, tag


def _normalised(a: Artifact, problems: list[ParseProblem]) -> Artifact:
    old_location = _split(a.location)[2] != "" and "/" in a.location
    if a.type != "container" or not ("/" in a.name or old_location):
        return a
    reference = a.location if old_location else f"{a.name}:{a.qualifier}"
    location, name, tag = _split(reference)
    fixed = replace(a, location=location, name=name, qualifier=tag or a.qualifier)
    problems.append(
        ParseProblem(
            path=a.source or ".",
            reason=f"container artifact in the old naming (name {a.name!r}, location "
            f"{a.location!r}): sent as location {location!r}, name {name!r}, qualifier "
            f"{fixed.qualifier!r}, as SEI names images",
        )
    )
    return fixed


def _with_meta(a: Artifact, key: str, value: str) -> Artifact:
    meta = dict(a.metadata)
    meta[key] = ",".join(sorted({*meta.get(key, "").split(","), value} - {""}))
    return replace(a, metadata=tuple(sorted(meta.items())))


def link_ready(
    artifacts: Iterable[Artifact], *, branch: str | None = None
) -> tuple[list[Artifact], list[ParseProblem]]:
    """The artifacts to send, and the problems found on the way."""
    problems: list[ParseProblem] = []
    arts = [_normalised(a, problems) for a in artifacts]
    mutable = MUTABLE_TAGS | ({branch.lower()} if branch else set())

    def floating(a: Artifact) -> bool:
        return a.type == "container" and a.qualifier.lower() in mutable

    # Per image, the mutable tags that an immutable name of the same image makes redundant.
    moved: dict[tuple[str, str], set[str]] = {}
    for a in arts:
        if floating(a):
            moved.setdefault((a.location, a.name), set())
    for a in arts:
        if a.type == "container" and not floating(a) and (a.location, a.name) in moved:
            moved[(a.location, a.name)].add("")  # marks: an immutable sibling exists
    out: list[Artifact] = []
    for a in arts:
        group = moved.get((a.location, a.name))
        if floating(a) and group is not None and "" in group:
            group.add(a.qualifier)  # goes to the immutable sibling's metadata
        elif floating(a) and _DIGEST.match(a.hash):
            out.append(_with_meta(replace(a, qualifier=a.hash), "mutable_tags", a.qualifier))
        else:
            out.append(a)  # immutable, or the only name a floating image has
    for i, kept in enumerate(out):
        tags = moved.get((kept.location, kept.name), set()) - {""}
        if kept.type == "container" and tags and not floating(kept):
            for tag in sorted(tags):
                out[i] = _with_meta(out[i], "mutable_tags", tag)
    pinned = [
        replace(a, qualifier=f"{a.qualifier}@{a.hash}")
        for a in out
        if a.type == "container" and _DIGEST.match(a.hash) and a.qualifier != a.hash
        and "@" not in a.qualifier
    ]  # fmt: skip
    return out + pinned, problems
