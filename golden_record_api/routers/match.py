"""`POST /match`: is this prospect already our customer? Scored against the live index of the
published snapshot with the run's own model and rules (`matching.online`); writes nothing
but the read audit of the golden records it returns."""

from __future__ import annotations

import time
from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import APIRouter, Body, Depends, HTTPException, Request, Response, status

from golden_record_api.access import PURPOSE_PROBLEMS, Reader, reader_for
from golden_record_api.deps import SnapshotDep
from golden_record_api.principal import SCOPE_MATCH_READ, check_scopes, get_principal
from golden_record_api.problems import problem_responses
from golden_record_api.rate_limit import LookupRateDep
from golden_record_api.schemas import (
    GoldenRecordSummary,
    MatchCandidateOut,
    MatchedRecordOut,
    MatchOut,
    MatchQuery,
    MatchStepOut,
)
from golden_record_api.snapshot import Snapshot
from matching.model import FellegiSunterModel
from matching.online import (
    ScoredCandidates,
    best_first,
    best_per_group,
    candidate_keys,
    explanation,
    score_candidate,
    standardize_candidate,
)
from matching.standardize.rules import RULES

router = APIRouter(prefix="/match", tags=["match"], responses=PURPOSE_PROBLEMS)

#: Fields of which a candidate must give one: without any, nothing identifies a person.
IDENTIFYING_FIELDS = ("name", "name_latin", "id_number", "mobile")
_RULE_CHECKS = {rule.id: rule.checks for rule in RULES}


async def get_match_reader(request: Request) -> Reader:
    """The reader of `POST /match`: the scope `match:read`, then the field policy and audit."""
    principal = check_scopes(await get_principal(request), (SCOPE_MATCH_READ,))
    state = request.app.state
    return reader_for(request, principal, state.access_policy, state.read_auditor)


MatchReaderDep = Annotated[Reader, Depends(get_match_reader)]


@router.post(
    "",
    summary="Is this prospect already a customer?",
    description="A prospective customer in canonical fields (`name`, `id_type` / `id_number`,"
    " `birth_date`, `gender`, `mobile`, `email`, `address`, …; at least one of"
    f" {', '.join(f'`{f}`' for f in IDENTIFYING_FIELDS)}), standardized by the pipeline's"
    " code, blocked against the published records with the run's blocking rules and scored by"
    " its model and deterministic rules. Returns up to `limit` golden records, most probable"
    " first, each with the probability and zone (`auto_match` / `review` / `non_match`, the"
    " run's thresholds) of its best-matching source record, the explanation of that pair's"
    " match weight, and every source record of it that was scored. Nothing is written but"
    " the read audit. Fields of the golden records as the access policy gives them to the"
    " caller's role. Needs the scope `match:read`; counts against the lookup rate limit."
    " `Server-Timing` gives the time spent standardizing, looking keys up and scoring.",
    responses=problem_responses(
        {
            status.HTTP_422_UNPROCESSABLE_CONTENT: "A field is malformed, none identifies"
            " a person, or the candidate is one the pipeline would quarantine",
            status.HTTP_429_TOO_MANY_REQUESTS: "Rate limited",
            status.HTTP_503_SERVICE_UNAVAILABLE: "No snapshot, or one without a live index",
        }
    ),
)
def match_candidate(
    query: Annotated[MatchQuery, Body()],
    reader: MatchReaderDep,
    _rate: LookupRateDep,
    snapshot: SnapshotDep,
    response: Response,
) -> MatchOut:
    fields = query.model_dump(exclude={"limit"})
    if all(not (fields.get(f) or "").strip() for f in IDENTIFYING_FIELDS):
        raise HTTPException(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"give at least one of {', '.join(IDENTIFYING_FIELDS)}",
        )
    if query.birth_date is not None:
        fields["birth_date"] = query.birth_date.isoformat()
    setup = snapshot.match_setup()
    clock = time.perf_counter()
    standardized = standardize_candidate(fields)
    if standardized.record is None:
        rule = str(standardized.rule)
        # The rule and what it checks, never the value that broke it.
        raise HTTPException(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"the candidate breaks the standardization rule {rule!r}:"
            f" {_RULE_CHECKS.get(rule, '')}",
        )
    keys = candidate_keys(standardized.record, setup.config)
    standardize_ms = (time.perf_counter() - clock) * 1000
    clock = time.perf_counter()
    found = snapshot.match_records(keys) if keys else None
    lookup_ms = (time.perf_counter() - clock) * 1000
    clock = time.perf_counter()
    out = MatchOut(records_compared=0 if found is None else len(found), candidates=[])
    if found is not None and len(found):
        scored = score_candidate(
            standardized.record, found, setup.config, setup.model, setup.spelling
        )
        out.candidates = _candidates(scored, found, snapshot, reader, setup.model, query.limit)
    score_ms = (time.perf_counter() - clock) * 1000
    response.headers["Server-Timing"] = (
        f"standardize;dur={standardize_ms:.2f}, lookup;dur={lookup_ms:.2f},"
        f" score;dur={score_ms:.2f}"
    )
    if out.candidates:
        reader.record(c.golden_id for c in out.candidates)
    return out


def _candidates(
    scored: ScoredCandidates,
    found: pd.DataFrame,
    snapshot: Snapshot,
    reader: Reader,
    model: FellegiSunterModel,
    limit: int,
) -> list[MatchCandidateOut]:
    """The first `limit` golden records of the pairs, best first, that exist and the reader
    may see. Golden records (and branches) are read per `limit` groups in one query each, and
    only the candidates returned are explained: the rest of the groups cost nothing."""
    pairs = scored.pairs
    golden = found["golden_id"].to_numpy(dtype=object)
    probability = pairs["match_probability"].to_numpy(dtype=np.float64).tolist()
    weight = pairs["match_weight"].to_numpy(dtype=np.float64).tolist()
    zone = pairs["zone"].to_numpy(dtype=object).tolist()
    rule = pairs["deterministic_rule"].to_numpy(dtype=object).tolist()
    record_key = pairs["record_key_r"].to_numpy(dtype=object).tolist()
    ranked = best_first(pairs)
    groups = best_per_group(pairs, golden)
    out: list[MatchCandidateOut] = []
    for start in range(0, len(groups), limit):
        rows = groups[start : start + limit].tolist()
        ids = [str(golden[row]) for row in rows]
        records = snapshot.golden_records(ids)
        branches = snapshot.branches_of(ids) if reader.branch is not None else {}
        for row, golden_id in zip(rows, ids, strict=True):
            record = records.get(golden_id)
            if record is None:
                continue
            if reader.branch is not None and branches.get(golden_id) != reader.branch:
                continue  # another branch's customer: as if not found
            mine = ranked[golden[ranked] == golden_id].tolist()
            out.append(
                MatchCandidateOut(
                    golden_id=golden_id,
                    match_probability=probability[row],
                    match_weight=weight[row],
                    zone=zone[row],
                    deterministic_rule=rule[row],
                    record_key=str(record_key[row]),
                    explanation=[MatchStepOut(**step) for step in explanation(model, scored, row)],
                    records=[
                        MatchedRecordOut(
                            record_key=str(record_key[r]),
                            match_probability=probability[r],
                            match_weight=weight[r],
                            zone=zone[r],
                            deterministic_rule=rule[r],
                        )
                        for r in mine
                    ],
                    golden_record=GoldenRecordSummary.model_validate(
                        reader.view("golden_record", {**record, "survivor_url": None})
                    ),
                )
            )
            if len(out) == limit:
                return out
    return out
