"""The README's lineage picture is the graph Dagster loads."""

import re

from ml_platform.definitions import build_definitions
from ml_platform.lineage import COLLAPSED, lineage_mermaid
from ml_platform.settings import PROJECT_ROOT, Settings


def _diagram(settings: Settings) -> str:
    return lineage_mermaid(build_definitions(settings))


def test_every_asset_and_edge_is_drawn(settings: Settings) -> None:
    defs = build_definitions(settings)
    diagram = lineage_mermaid(defs)
    graph = defs.resolve_asset_graph()
    for node in graph.asset_nodes:
        if node.group_name in COLLAPSED:
            assert re.search(rf"^  {node.group_name}\[", diagram, re.M)
            continue
        name = node.key.to_user_string()
        assert f'["{name}"]' in diagram, name
    # silver/transactions feeds the features, the training set, scoring and monitoring
    for child in ("features_customer_daily", "ml_training_set", "ml_transaction_scores"):
        assert f"silver_transactions --> {child}" in diagram
    assert "ml_transaction_scores --> monitoring_feature_drift" in diagram


def test_the_readme_shows_the_current_lineage(settings: Settings) -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    block = re.search(r"<!-- lineage:start -->\n(.*?)<!-- lineage:end -->", readme, re.S)
    assert block is not None, "README lost its lineage markers"
    expected = f"```mermaid\n{_diagram(settings)}```\n"
    assert block.group(1) == expected, (
        "README's lineage picture is stale: paste the output of `ml-platform lineage` "
        "between the lineage markers, inside a ```mermaid fence"
    )
