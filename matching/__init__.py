"""The MDM matching engine: a small public surface over the internal modules.

    from matching import MatchingConfig, link
    result = link(party_records, MatchingConfig.model_validate(mdm_yaml["matching"]))
    result.scored_pairs, result.clusters, result.model.to_json()

The steps are public too, for a pipeline that persists between them: `candidate_pairs`,
`compare`, `train`, `predict`, `decide`, `cluster`.
"""

from __future__ import annotations

from matching.blocking import BlockingReport, SkippedBlock
from matching.clustering import ClusterResult, cluster_records
from matching.config import MatchingConfig
from matching.engine import (
    LinkResult,
    candidate_pairs,
    cluster,
    compare,
    decide,
    link,
    predict,
    scored_pair_columns,
    to_contract,
    train,
)
from matching.evaluation import (
    PairwiseScores,
    SimulatedEvaluation,
    blocking_recall,
    evaluate_clusters,
    evaluate_pairs,
    evaluate_simulated,
)
from matching.model import FellegiSunterModel
from matching.standardize import (
    SourceMapping,
    StandardizeResult,
    rule_catalogue,
    standardize_source,
)

__all__ = [
    "BlockingReport",
    "ClusterResult",
    "FellegiSunterModel",
    "LinkResult",
    "MatchingConfig",
    "PairwiseScores",
    "SimulatedEvaluation",
    "SkippedBlock",
    "SourceMapping",
    "StandardizeResult",
    "blocking_recall",
    "candidate_pairs",
    "cluster",
    "cluster_records",
    "compare",
    "decide",
    "evaluate_clusters",
    "evaluate_pairs",
    "evaluate_simulated",
    "link",
    "predict",
    "rule_catalogue",
    "scored_pair_columns",
    "standardize_source",
    "to_contract",
    "train",
]
