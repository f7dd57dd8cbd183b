"""`mdm check`: every source read and held against its mdm.yaml entry before a run starts.

A mapping to a column that does not exist, a SQLite file that is not there, a CSV in another
encoding, a missing Excel sheet, a key that is not unique, a code the lists do not cover: each
would otherwise fail (or silently lose data) deep inside a run. The preflight reads each
source's headers and a sample of every table, and says what is wrong in one line naming the
source and the config key to change. It writes nothing: no warehouse, no landing batch, and a
SQLite source is opened read-only (a missing file is reported, never created).

Lines name sources, tables, columns, config keys, counts and code values (gender, ID-type and
status codes are not personal); never a cell of a personal column. A column whose "codes" are
many or long is probably not a code column, and its values are then not printed.

Judging uses the pipeline's own code, so the preflight and the run agree: the party table's
sample goes through `standardize_source` (valid-ID share, quarantine share), activity tables
through `canonicalize` (unmapped codes, values that do not parse), genders through
`decode_genders`, garbled text through the raw rule's `garbled_text`, and thresholds and
severities through `quality.catalogue.for_source`.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
import yaml

from connectors.canonical import canonicalize
from connectors.config import SourceConfig
from connectors.entities import ENTITIES, OTHER_CODE
from connectors.landing import as_text_frame
from connectors.sources import (
    EXCEL_SUFFIXES,
    SourceReadError,
    csv_encoding,
    database_tables,
    excel_sheet,
    find_file,
    open_source_engine,
    read_file_table,
    reflect_table,
    safe_url,
)
from matching.standardize import SourceMapping, standardize_source
from matching.standardize.identity import decode_genders
from quality.catalogue import RULES_BY_ID, QualityConfig, for_source
from quality.stages import garbled_text

SAMPLE_ROWS = 1_000
#: A code list is short and its codes are short: a column beyond these is not printed.
MAX_CODES_SHOWN = 15
MAX_CODE_LENGTH = 20
#: Below this many sampled values a column is not known to be a code column: only codes seen
#: at least twice are printed (a name seen once is not a code).
MIN_ROWS_FOR_CODES = 20
MAX_COLUMNS_SHOWN = 40
#: Encodings tried to suggest one when the configured encoding does not decode a CSV.
SUGGESTED_ENCODINGS = ("utf-8", "gbk", "gb18030")
VALID_ID_RULE = "std.valid_resident_id_share"
QUARANTINE_RULE = "std.quarantine_rate"


@dataclass(frozen=True)
class Problem:
    """One thing to fix before a run: the source, the config key that decides it, and why."""

    source: str
    config_key: str
    message: str

    def line(self) -> str:
        return f"{self.source}: {self.config_key}: {self.message}"


@dataclass
class SourceCheck:
    """What the preflight found on one source."""

    source: str
    sampled: dict[str, int] = field(default_factory=dict)  # table -> rows read
    valid_id_share: float | None = None
    min_valid_id_rate: float | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def problem(self, config_key: str, message: str) -> None:
        self.problems.append(Problem(self.source, config_key, message))

    def warning(self, config_key: str, message: str) -> None:
        self.warnings.append(Problem(self.source, config_key, message))

    def summary(self) -> str:
        tables = ", ".join(f"{table} {rows:,}" for table, rows in self.sampled.items())
        line = f"{self.source}: OK: rows sampled: {tables}"
        if self.valid_id_share is not None and self.min_valid_id_rate is not None:
            line += (
                f"; valid resident IDs {self.valid_id_share:.1%} of sampled records "
                f"(threshold {self.min_valid_id_rate:.0%})"
            )
        return line


@dataclass
class PreflightReport:
    sources: list[SourceCheck]

    @property
    def problems(self) -> list[Problem]:
        return [problem for check in self.sources for problem in check.problems]

    @property
    def warnings(self) -> list[Problem]:
        return [warning for check in self.sources for warning in check.warnings]

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self, *, summaries: bool = True) -> list[str]:
        """One line per problem and per warning; with `summaries`, one per source found OK."""
        out = [problem.line() for problem in self.problems]
        out += [f"warning: {warning.line()}" for warning in self.warnings]
        if summaries:
            out += [check.summary() for check in self.sources if not check.problems]
        return out


def preflight(
    sources: Mapping[str, SourceConfig],
    quality: QualityConfig,
    *,
    sample_rows: int = SAMPLE_ROWS,
    now: pd.Timestamp | None = None,
) -> PreflightReport:
    """Check every source against its config on a sample of each table; writes nothing."""
    now = (pd.Timestamp.now() if now is None else pd.Timestamp(now)).floor("s")
    return PreflightReport(
        [_check_source(name, source, quality, sample_rows, now) for name, source in sources.items()]
    )


# ------------------------------------------------------------------------------ reading


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _listing(names: Sequence[str], limit: int = MAX_COLUMNS_SHOWN) -> str:
    shown = ", ".join(names[:limit]) or "none"
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")


def _table_keys(source: SourceConfig) -> dict[str, str]:
    """The config key naming each table, for messages about a table that cannot be read."""
    keys = dict.fromkeys(source.tables, "tables")
    for name, mapping in source.entities.items():
        keys[mapping.table] = f"entities.{name}.table"
    if source.identifiers is not None:
        keys[source.identifiers.table] = "identifiers.table"
    keys[source.party_table] = "party_table"
    return keys


def _sample_sql(check: SourceCheck, source: SourceConfig, rows: int) -> dict[str, pd.DataFrame]:
    assert source.url is not None  # validated by SourceConfig
    try:
        engine = open_source_engine(source.url)
    except SourceReadError as error:
        check.problem("url", str(error))
        return {}
    frames: dict[str, pd.DataFrame] = {}
    keys = _table_keys(source)
    try:
        with engine.connect() as connection:
            offered = database_tables(connection)
            for table in source.tables:
                if table not in offered:
                    check.problem(
                        keys[table],
                        f"table {table!r} not in {safe_url(source.url)} "
                        f"(tables: {_listing(offered)})",
                    )
                    continue
                reflected = reflect_table(connection, table, source.url)
                query = sa.select(reflected).limit(rows)
                owners = _owners_sampled(source, table, frames)
                if owners is not None and owners[0] in reflected.c:
                    column, keys_sampled = owners
                    query = sa.select(reflected).where(reflected.c[column].in_(keys_sampled))
                result = connection.execute(query)
                frame = pd.DataFrame.from_records(
                    [tuple(row) for row in result], columns=list(result.keys())
                )
                frames[table] = as_text_frame(frame)
    except sa.exc.SQLAlchemyError as error:
        check.problem("url", f"cannot read {safe_url(source.url)}: {_first_line(error)}")
    finally:
        engine.dispose()
    return frames


def _owners_sampled(
    source: SourceConfig, table: str, frames: Mapping[str, pd.DataFrame]
) -> tuple[str, list[str]] | None:
    """For the identifiers table: its key column and the party keys sampled, so the sample
    holds the documents of the sampled customers (the valid-ID share counts them)."""
    ids = source.identifiers
    party = frames.get(source.party_table)
    if ids is None or table != ids.table or party is None or source.key_column not in party:
        return None
    return ids.key_column, _stripped(party[source.key_column]).unique().tolist()


def _decodes(path: Path, encoding: str) -> bool:
    try:
        csv_encoding(path, encoding)
    except SourceReadError:
        return False
    return True


def _sample_csv(check: SourceCheck, source: SourceConfig, path: Path, rows: int) -> pd.DataFrame:
    try:
        encoding = csv_encoding(path, source.encoding)
    except SourceReadError as error:
        fits = [e for e in SUGGESTED_ENCODINGS if e != source.encoding and _decodes(path, e)]
        hint = f"; it decodes as {fits[0]}: set encoding: {fits[0]}" if fits else ""
        check.problem("encoding", f"{error}{hint}")
        raise
    return read_file_table(path, encoding=encoding, nrows=rows)


def _sample_files(check: SourceCheck, source: SourceConfig, rows: int) -> dict[str, pd.DataFrame]:
    assert source.path is not None  # validated by SourceConfig
    folder = source.path
    if not folder.is_dir():
        check.problem("path", f"folder {folder} does not exist")
        return {}
    present = sorted(path.name for path in folder.iterdir() if path.is_file())
    frames: dict[str, pd.DataFrame] = {}
    keys = _table_keys(source)
    for table in source.tables:
        try:
            path = find_file(folder, table)
        except SourceReadError:
            check.problem(
                keys[table],
                f"no file {table}.csv, .xlsx or .parquet in {folder} (files: {_listing(present)})",
            )
            continue
        suffix = path.suffix.lower()
        try:
            if suffix in EXCEL_SUFFIXES:
                try:
                    sheet = excel_sheet(path, source.sheet)
                except SourceReadError as error:
                    check.problem("sheet", str(error))
                    continue
                frames[table] = read_file_table(path, sheet=sheet, nrows=rows)
            elif suffix == ".parquet":
                frames[table] = read_file_table(path, nrows=rows)
            else:
                frames[table] = _sample_csv(check, source, path, rows)
            owners = _owners_sampled(source, table, frames)
            if owners is not None and owners[0] in frames[table].columns:
                # Read whole, then cut to the sampled customers' documents: a file has no index.
                whole = read_file_table(path, encoding=source.encoding, sheet=source.sheet)
                column, keys_sampled = owners
                frames[table] = whole[whole[column].str.strip().isin(keys_sampled)]
        except SourceReadError:
            continue  # reported where it was found
        except (
            Exception
        ) as error:  # a malformed file: pandas, openpyxl and arrow each raise their own
            check.problem(keys[table], f"{path.name} cannot be read: {_first_line(error)}")
    return frames


# ------------------------------------------------------------------------------ judging


def _columns(check: SourceCheck, source: SourceConfig, frames: Mapping[str, pd.DataFrame]) -> None:
    """Every column the config names exists in its table."""
    for table, columns in source.required_columns().items():
        if table not in frames:
            continue
        have = [str(column) for column in frames[table].columns]
        for column, key in columns.items():
            if column in have:
                continue
            close = difflib.get_close_matches(column, have, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            check.problem(
                key, f"column {column!r} not in {table} (columns: {_listing(have)}){hint}"
            )


def _keys(
    check: SourceCheck,
    source: SourceConfig,
    frames: Mapping[str, pd.DataFrame],
    quality: QualityConfig,
) -> None:
    """Keys present and unique on the sample, within the thresholds the raw rules apply."""
    plans = [(source.party_table, source.key_column, "key_column")]
    for name, mapping in source.entities.items():
        key_field = ENTITIES[name].key.name
        plans.append(
            (mapping.table, mapping.mapping[key_field], f"entities.{name}.mapping.{key_field}")
        )
    for table, column, config_key in plans:
        frame = frames.get(table)
        if frame is None or column not in frame.columns or not len(frame):
            continue
        keys = frame[column].dropna().astype(str).str.strip()
        keys = keys[keys != ""]
        missing = len(frame) - len(keys)
        if missing / len(frame) > quality.max_quarantine_rate:
            check.problem(
                config_key,
                f"{missing:,} of the first {len(frame):,} rows of {table} have no key in "
                f"{column!r} (more than the {quality.max_quarantine_rate:.1%} "
                "quality.max_quarantine_rate allows)",
            )
        repeated = keys.duplicated()
        if repeated.sum() / len(frame) > quality.max_duplicate_key_rate:
            distinct = keys[keys.duplicated(keep=False)].nunique()
            check.problem(
                config_key,
                f"{distinct:,} keys occur more than once in the first {len(frame):,} rows of "
                f"{table} ({int(repeated.sum()):,} extra rows, more than the "
                f"{quality.max_duplicate_key_rate:.1%} quality.max_duplicate_key_rate allows): "
                f"is {column!r} the table's key?",
            )


def _yaml_pair(code: str, value: str) -> str:
    """`code: value` as YAML flow text, quoted where YAML would read another type (0, 01)."""
    text = yaml.safe_dump({code: value}, default_flow_style=True, allow_unicode=True).strip()
    return text.removeprefix("{").removesuffix("}")


def _unmapped_codes(
    check: SourceCheck,
    *,
    config_key: str,
    mapping_key: str,
    column: str,
    values: pd.Series,
    counts: Counter[str],
    suggestion: str,
    values_hint: str = "",
) -> None:
    """The problem line for codes a list does not cover, with the YAML to add.

    `values` is the column's sample (present values). A code is printed only where the column
    is plainly a code column (enough rows, few distinct values) or the code repeats: a
    column of names or numbers mapped as codes by mistake has its values counted, not shown.
    """
    if not counts:
        return
    rows = sum(counts.values())
    distinct = values.nunique()
    if distinct > MAX_CODES_SHOWN or any(len(code) > MAX_CODE_LENGTH for code in counts):
        check.problem(
            config_key,
            f"{len(counts):,} distinct unmapped values in {column!r} ({rows:,} of {len(values):,} "
            f"sampled values), too many or too long for a code list (not shown): is "
            f"{mapping_key} the right column?",
        )
        return
    code_column = len(values) >= MIN_ROWS_FOR_CODES
    shown = [(code, n) for code, n in counts.most_common() if code_column or n > 1]
    hidden = len(counts) - len(shown)
    listed = ", ".join(f"{code!r} ({n:,} rows)" for code, n in shown)
    if hidden:
        once = f"{hidden} value{'s' if hidden > 1 else ''} seen once (not shown)"
        listed = f"{listed} and {once}" if listed else once
    message = f"{len(counts)} unmapped code{'s' if len(counts) > 1 else ''} in {column!r}: {listed}"
    if shown:
        addition = ", ".join(_yaml_pair(code, suggestion) for code, _ in shown)
        yaml_key = config_key.rsplit(".", 1)[-1]
        where = f" under {config_key.rsplit('.', 1)[0]}" if "." in config_key else ""
        message += f"; add e.g. {yaml_key}: {{..., {addition}}}{where}"
    check.problem(config_key, message + values_hint)


def _stripped(values: pd.Series) -> pd.Series:
    text = values.dropna().astype(str).str.strip()
    return text[text != ""]


def _codes(check: SourceCheck, source: SourceConfig, frames: Mapping[str, pd.DataFrame]) -> None:
    party = frames.get(source.party_table)
    id_type_column = source.mapping.get("id_type")
    if party is not None and id_type_column in party.columns:
        listed = {str(code).strip() for code in (source.id_type_codes or {})}
        values = _stripped(party[id_type_column])
        _unmapped_codes(
            check,
            config_key="id_type_codes",
            mapping_key="mapping.id_type",
            column=str(id_type_column),
            values=values,
            counts=Counter(values[~values.isin(listed)].tolist()),
            suggestion="unknown",
            values_hint=" (resident_id, passport, hk_macao_permit, taiwan_permit, "
            "foreign_permanent_residence, other; unknown: the number's shape decides)",
        )
    gender_column = source.mapping.get("gender")
    if party is not None and gender_column in party.columns:
        values = _stripped(party[gender_column])
        unknown = decode_genders(values, source.gender_codes)["unknown"].to_numpy(dtype=bool)
        _unmapped_codes(
            check,
            config_key="gender_codes",
            mapping_key="mapping.gender",
            column=str(gender_column),
            values=values,
            counts=Counter(values[unknown].tolist()),
            suggestion="unknown",
            values_hint=" (M, F or unknown)",
        )
    ids = source.identifiers
    if ids is not None and ids.type_column and ids.table in frames:
        frame = frames[ids.table]
        if ids.type_column in frame.columns:
            listed = {str(code).strip() for code in (ids.type_codes or {})}
            values = _stripped(frame[ids.type_column])
            _unmapped_codes(
                check,
                config_key="identifiers.type_codes",
                mapping_key="identifiers.type_column",
                column=ids.type_column,
                values=values,
                counts=Counter(values[~values.isin(listed)].tolist()),
                suggestion="unknown",
            )


def _entities(
    check: SourceCheck, source: SourceConfig, frames: Mapping[str, pd.DataFrame], now: pd.Timestamp
) -> None:
    """Activity tables through the canonical stage's own parsing: codes and values."""
    for name, mapping in source.entities.items():
        frame = frames.get(mapping.table)
        if frame is None or set(mapping.mapping.values()) - set(frame.columns):
            continue  # reported as a missing table or column
        result = canonicalize(
            frame,
            system=check.source,
            entity_name=name,
            mapping=mapping,
            batch_id="preflight",
            now=now,
        )
        entity = ENTITIES[name]
        for field_name, counts in sorted(result.unmapped_codes.items()):
            values = ", ".join((*entity.field(field_name).values, OTHER_CODE))
            _unmapped_codes(
                check,
                config_key=f"entities.{name}.codes.{field_name}",
                mapping_key=f"entities.{name}.mapping.{field_name}",
                column=mapping.mapping[field_name],
                values=_stripped(frame[mapping.mapping[field_name]]),
                counts=Counter({str(code): int(n) for code, n in counts.items()}),
                suggestion=OTHER_CODE,
                values_hint=f" (values: {values})",
            )
        for field_name, lost in sorted(result.parse_failures.items()):
            kind = entity.field(field_name).kind
            check.warning(
                f"entities.{name}.mapping.{field_name}",
                f"{lost:,} of the first {len(frame):,} values in {mapping.mapping[field_name]!r} "
                f"of {mapping.table} do not parse as a {kind}: they will be NULL (and counted)",
            )


def _party(
    check: SourceCheck,
    source: SourceConfig,
    frames: Mapping[str, pd.DataFrame],
    quality: QualityConfig,
    severity: Mapping[str, str],
    now: pd.Timestamp,
) -> None:
    """The party sample through standardization: the valid-ID and quarantine shares, and
    text that was decoded with the wrong encoding."""
    party = frames.get(source.party_table)
    if party is None:
        return
    if not len(party):
        check.problem("party_table", f"{source.party_table} has no rows")
        return
    mapped = [source.mapping[name] for name in sorted(source.mapping)]
    garbled = int(garbled_text(party, mapped).notna().sum())
    if garbled / len(party) > quality.max_garbled_text_rate:
        check.problem(
            "encoding",
            f"{garbled:,} of the first {len(party):,} rows of {source.party_table} hold text "
            f"decoded with the wrong encoding (encoding: {source.encoding}); "
            "try another encoding (utf-8, gbk, gb18030)",
        )
    identifiers = None
    if source.identifiers is not None:
        identifiers = frames.get(source.identifiers.table)
        needed = {source.identifiers.key_column, source.identifiers.number_column}
        if identifiers is None or needed - set(identifiers.columns):
            return  # reported as a missing table or column
    mapping = SourceMapping.from_config(check.source, source.model_dump())
    result = standardize_source(
        party, mapping, batch_id="preflight", now=now, identifiers=identifiers
    )
    records = result.records
    name = check.source
    if len(records):
        share = float(records["id_valid"].mean())
        check.valid_id_share, check.min_valid_id_rate = share, quality.min_valid_id_rate
        if share < quality.min_valid_id_rate:
            rule_severity = severity.get(VALID_ID_RULE, RULES_BY_ID[VALID_ID_RULE].severity)
            check.warning(
                "quality.min_valid_id_rate",
                f"{share:.1%} of the sampled records have a valid resident ID, below the "
                f"{quality.min_valid_id_rate:.0%} threshold (quality.min_valid_id_rate, or "
                f"sources.{name}.quality.min_valid_id_rate); {VALID_ID_RULE} is "
                f"{rule_severity} for this source"
                + (" (the run would stop there)" if rule_severity == "blocking" else ""),
            )
    quarantined = len(result.quarantine) / len(party)
    if quarantined > quality.max_quarantine_rate:
        rules = Counter(result.quarantine["rule"].tolist())
        by_rule = ", ".join(f"{rule} {n:,}" for rule, n in rules.most_common())
        check.warning(
            "quality.max_quarantine_rate",
            f"{quarantined:.1%} of the sampled rows would be quarantined ({by_rule}), above the "
            f"{quality.max_quarantine_rate:.1%} allowed (quality.max_quarantine_rate, or "
            f"sources.{name}.quality.max_quarantine_rate); {QUARANTINE_RULE} is "
            f"{severity.get(QUARANTINE_RULE, RULES_BY_ID[QUARANTINE_RULE].severity)}",
        )


def _check_source(
    name: str,
    source: SourceConfig,
    overall: QualityConfig,
    sample_rows: int,
    now: pd.Timestamp,
) -> SourceCheck:
    check = SourceCheck(name)
    quality, severity = for_source(overall, source.quality)
    if source.connector == "sql":
        frames = _sample_sql(check, source, sample_rows)
    else:
        frames = _sample_files(check, source, sample_rows)
    check.sampled = {table: len(frame) for table, frame in frames.items()}
    _columns(check, source, frames)
    _keys(check, source, frames, quality)
    _codes(check, source, frames)
    _entities(check, source, frames, now)
    party = frames.get(source.party_table)
    needed = {source.key_column, *source.mapping.values()}
    if party is not None and not needed - set(party.columns):
        _party(check, source, frames, quality, severity, now)
    return check
