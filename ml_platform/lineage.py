"""The lineage graph as a Mermaid diagram, drawn from the definitions themselves.

``ml-platform lineage`` prints it; the README embeds the output between markers and a test
keeps the two equal, so the picture a newcomer sees is the graph Dagster loads.
"""

import re
from collections import defaultdict

import dagster as dg

# Groups in pipeline order, left to right; a group not listed goes last.
GROUP_ORDER = (
    "ingestion",
    "staging",
    "features",
    "feature_store",
    "training",
    "scoring",
    "serving",
    "monitoring",
    "analytics",
)
# Groups drawn as one node: their assets are many parallel tables of one thing.
COLLAPSED = {"analytics": "DuckDB warehouse"}


def _node_id(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", label)


def _group_rank(group: str) -> tuple[int, str]:
    return (GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER), group)


def lineage_mermaid(defs: dg.Definitions) -> str:
    """Draw every asset of ``defs`` in its group, with its upstream edges.

    Args:
        defs: The code location's definitions.

    Returns:
        A Mermaid ``flowchart LR`` (without the surrounding code fence).
    """
    graph = defs.resolve_asset_graph()
    groups: dict[str, list[dg.AssetKey]] = defaultdict(list)
    group_of: dict[dg.AssetKey, str] = {}
    for node in graph.asset_nodes:
        group = node.group_name or "default"
        groups[group].append(node.key)
        group_of[node.key] = group

    def ref(key: dg.AssetKey) -> str:
        group = group_of[key]
        return _node_id(group) if group in COLLAPSED else _node_id(key.to_user_string())

    lines = ["flowchart LR"]
    for group in sorted(groups, key=_group_rank):
        keys = sorted(groups[group], key=lambda k: k.to_user_string())
        if group in COLLAPSED:
            label = f"{COLLAPSED[group]}<br/>{len(keys)} tables"
            lines.append(f'  {_node_id(group)}[("{label}")]')
            continue
        lines.append(f"  subgraph {_node_id('g_' + group)}[{group}]")
        for key in keys:
            name = key.to_user_string()
            external = not graph.get(key).is_materializable
            shape = f'(["{name}"])' if external else f'["{name}"]'
            lines.append(f"    {_node_id(name)}{shape}")
        lines.append("  end")

    def source(parent: dg.AssetKey, child: dg.AssetKey) -> str:
        # Into a collapsed group, one edge per upstream group keeps the picture readable.
        group = group_of[parent]
        if group_of[child] in COLLAPSED and group not in COLLAPSED:
            return _node_id("g_" + group)
        return ref(parent)

    edges = {
        (source(parent, node.key), ref(node.key))
        for node in graph.asset_nodes
        for parent in node.parent_keys
        if parent in group_of and ref(parent) != ref(node.key)
    }
    lines.extend(f"  {a} --> {b}" for a, b in sorted(edges))
    return "\n".join(lines) + "\n"
