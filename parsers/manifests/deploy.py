"""The deployment side: every `image:` in Kubernetes manifests and Helm values files becomes
an input artifact, so SEI links this CD run to the CI run that built the image.

YAML is read with PyYAML's safe loader, bounded: at most 1 MiB and at most 200 aliases, so an
alias bomb is refused before anything walks it. Default places: k8s/, kubernetes/, manifests/,
deploy/ and helm/ trees, `*.k8s.yaml` and `values*.yaml`; more with globs."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

from sei_watch.globs import GlobSet
from sei_watch.plugins import ParseContext, ParseError
from sei_watch.records import Record

from ._common import image_artifact, parse_image

__all__ = ["K8sImages"]

MAX_YAML = 1 << 20
MAX_ALIASES = 200
MAX_NODES = 200_000
DEFAULT_GLOBS = GlobSet(
    [
        "**/k8s/**/*.yaml",
        "**/k8s/**/*.yml",
        "**/kubernetes/**/*.yaml",
        "**/kubernetes/**/*.yml",
        "**/manifests/**/*.yaml",
        "**/manifests/**/*.yml",
        "**/deploy/**/*.yaml",
        "**/deploy/**/*.yml",
        "**/deploy/**/*.json",
        "**/helm/**/values*.yaml",
        "*.k8s.yaml",
        "values*.yaml",
        "values*.yml",
    ]
)


@functools.cache
def _bounded() -> Any:
    """The YAML loader, built on first use: importing PyYAML costs every `parse` ~35 ms, and
    most workspaces hold no deployment manifest."""
    import yaml  # noqa: PLC0415

    class _Bounded(yaml.SafeLoader):
        """Counts aliases while composing: a billion-laughs document stops at the limit."""

        aliases = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_ALIASES:
                    raise ParseError(f"more than {MAX_ALIASES} YAML aliases (an alias bomb?)")
            return super().compose_node(parent, index)

    return _Bounded


def _helm_image(value: dict[Any, Any], registry: str) -> str | None:
    """Helm values' `image: {repository, tag}` and the `{registry, image, tag, digest}` form
    (ingress-nginx and others; the registry may come from `global.image.registry`)."""
    repo = value.get("repository") or value.get("image")
    if not isinstance(repo, str) or not repo:
        return None
    own = value.get("registry")
    registry = own if isinstance(own, str) and own else registry
    first = repo.split("/", 1)[0]
    has_registry = "/" in repo and ("." in first or ":" in first or first == "localhost")
    ref = f"{registry}/{repo}" if registry and not has_registry else repo
    tag, digest = value.get("tag"), value.get("digest")
    if tag:
        ref += f":{tag}"
    if isinstance(digest, str) and digest.startswith("sha256:"):
        ref += f"@{digest}"
    return ref


def _global_registry(doc: Any) -> str:
    glob = doc.get("global") if isinstance(doc, dict) else None
    if not isinstance(glob, dict):
        return ""
    image = glob.get("image")
    found = image.get("registry") if isinstance(image, dict) else glob.get("imageRegistry")
    return found if isinstance(found, str) else ""


def _images(node: Any, out: list[str], budget: list[int]) -> None:
    registry = _global_registry(node)
    stack = [node]
    while stack:
        item = stack.pop()
        budget[0] -= 1
        if budget[0] < 0:
            raise ParseError(f"more than {MAX_NODES} YAML nodes")
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "image" and isinstance(value, str):
                    out.append(value)
                elif key == "image" and isinstance(value, dict):
                    ref = _helm_image(value, registry)
                    if ref is not None:
                        out.append(ref)
                    else:
                        stack.append(value)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


class K8sImages:
    """Container images a deployment consumes (input: true, cd: true)."""

    name = "k8s-images"

    def matches(self, path: PurePath) -> bool:
        return DEFAULT_GLOBS.match(path)

    def parse(self, path: Path, ctx: ParseContext) -> Iterator[Record]:
        text = ctx.read_bytes(path, limit=MAX_YAML).decode("utf-8", "replace")
        refs: list[str] = []
        import yaml  # noqa: PLC0415  (loaded with _bounded: only for a manifest)

        try:
            loader = _bounded()(text)  # the reader refuses control characters here already
        except yaml.YAMLError as exc:
            raise ParseError(f"not valid YAML: {exc}") from exc
        try:
            while loader.check_node():
                _images(loader.construct_document(loader.get_node()), refs, [MAX_NODES])
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise ParseError(
                f"not valid YAML: {getattr(exc, 'problem', exc)}",
                line=mark.line + 1 if mark else None,
            ) from exc
        finally:
            loader.dispose()
        seen = set()
        for raw in refs:
            ref = parse_image(raw)
            if ref is None:
                yield ctx.problem(path, f"image {raw!r} is not a usable reference (templated?)")
                continue
            if ref.reference not in seen:
                seen.add(ref.reference)
                yield image_artifact(ctx, path, ref, output=False)
