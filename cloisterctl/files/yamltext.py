"""Reading YAML text with line numbers, within bounds: the one loader every config and front-matter
read goes through.

YAML can be hostile: nine levels of nine aliases expand to 387 million values (an "alias bomb"),
and a few kilobytes of brackets nest past the interpreter's stack. ``load`` refuses text over
``MAX_BYTES``, a document whose aliases expand to more than ``MAX_VALUES`` values (measured on the
composed node graph, where an alias is a shared node, before anything is expanded), and nesting
deeper than the parser can take, each as a ``YamlLimit`` naming the line.
"""

from __future__ import annotations

from typing import Any

from cloisterctl.errors import YamlLimit

__all__ = ["MAX_BYTES", "MAX_VALUES", "YamlLimit", "load", "loader_class"]

MAX_BYTES = 1024 * 1024
MAX_VALUES = 100_000


def loader_class(yaml: Any) -> Any:
    """libyaml's C loader when PyYAML was built with it (several times faster), else the Python one."""
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _expanded_sizes(root: Any) -> dict[int, int]:
    """How many values each node stands for once every alias is expanded (shared nodes counted
    as often as they are used), computed once per distinct node, without recursion."""
    import yaml

    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            sizes[id(node)] = 1
            continue
        if children_done:
            sizes[id(node)] = min(1 + sum(sizes[id(child)] for child in children), 2**62)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes


def _too_big(root: Any, sizes: dict[int, int]) -> Any:
    """The innermost node whose expansion is over the limit (where to point the user)."""
    import yaml

    node = root
    while True:
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            return node
        inner = next((child for child in children if sizes[id(child)] > MAX_VALUES), None)
        if inner is None:
            return node
        node = inner


def load(text: str) -> tuple[Any, Any]:
    """(composed node, data) of one YAML document; (None, None) for an empty one.

    Raises ``yaml.YAMLError`` for broken YAML and ``YamlLimit`` for text over a limit."""
    import yaml

    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise YamlLimit(f"over {MAX_BYTES // 1024} KiB; refusing to parse it")
    loader = loader_class(yaml)(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise YamlLimit("nested too deeply to parse") from None
        if node is None:
            return None, None
        sizes = _expanded_sizes(node)
        if sizes[id(node)] > MAX_VALUES:
            where = _too_big(node, sizes)
            raise YamlLimit(
                f"its aliases expand to more than {MAX_VALUES:,} values (an alias bomb?); refusing to load it",
                where.start_mark.line + 1,
            )
        try:
            data = loader.construct_document(node)
        except RecursionError:
            raise YamlLimit("nested too deeply to load") from None
        return node, data
    finally:
        loader.dispose()
