"""`POST /match`: is this prospect already our customer? Scored against the live index of the
published snapshot with the run's own model and rules (`matching.online`); writes nothing
but the read audit of the golden records it returns."""

from __future__ import annotations

import time
from typing import Annotated

import numpy as np
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
from matching.online import (
    best_per_group,
    candidate_frame,
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
        candidate = candidate_frame(standardized.record)
        scored = score_candidate(candidate, found, setup.config, setup.model, setup.spelling)
        golden = found["golden_id"].to_numpy(dtype=object)
        linked = np.flatnonzero([g is not None for g in golden])
        pairs = scored.pairs
        best = best_per_group(pairs.iloc[linked], golden[linked], len(linked))
        for row, pair in best.iterrows():
            golden_id = str(golden[int(str(row))])
            record = snapshot.golden_record(golden_id)
            if record is None:
                continue
            if reader.branch is not None and snapshot.branch_of(golden_id) != reader.branch:
                continue  # another branch's customer: as if not found
            mine = pairs.iloc[linked[golden[linked] == golden_id]].sort_values(
                ["match_probability", "match_weight"], ascending=False, kind="stable"
            )
            steps = explanation(setup.model, scored, int(str(row)))
            out.candidates.append(
                MatchCandidateOut(
                    golden_id=golden_id,
                    match_probability=float(pair["match_probability"]),
                    match_weight=float(pair["match_weight"]),
                    zone=pair["zone"],
                    deterministic_rule=pair["deterministic_rule"],
                    record_key=str(pair["record_key_r"]),
                    explanation=[
                        MatchStepOut.model_validate(step) for step in steps.to_dict("records")
                    ],
                    records=[
                        MatchedRecordOut(
                            record_key=str(r["record_key_r"]),
                            match_probability=float(r["match_probability"]),
                            match_weight=float(r["match_weight"]),
                            zone=r["zone"],
                            deterministic_rule=r["deterministic_rule"],
                        )
                        for r in mine.to_dict("records")
                    ],
                    golden_record=GoldenRecordSummary.model_validate(
                        reader.view("golden_record", {**record, "survivor_url": None})
                    ),
                )
            )
            if len(out.candidates) == query.limit:
                break
    score_ms = (time.perf_counter() - clock) * 1000
    response.headers["Server-Timing"] = (
        f"standardize;dur={standardize_ms:.2f}, lookup;dur={lookup_ms:.2f},"
        f" score;dur={score_ms:.2f}"
    )
    if out.candidates:
        reader.record(c.golden_id for c in out.candidates)
    return out
