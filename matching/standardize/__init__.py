"""Cleansing Chinese customer data into canonical party records, nothing lost.

`standardize_source` turns one source's raw party rows into `mdm.party_records` and
`mdm.quarantine` rows (docs/CONTRACTS.md §3). The per-field functions take and return pandas
objects and are usable on their own; `rule_catalogue` lists every rule id they raise.
`standardization_accuracy` scores the output against a simulation's true attributes.
"""

from matching.standardize._text import as_text, none_if_nan
from matching.standardize.accuracy import ACCURACY_FIELDS, standardization_accuracy
from matching.standardize.addresses import parse_addresses
from matching.standardize.dates import parse_dates
from matching.standardize.emails import normalize_emails
from matching.standardize.ids import document_types_by_shape, normalize_resident_ids
from matching.standardize.names import standardize_names
from matching.standardize.party import (
    PARTY_COLUMNS,
    QUARANTINE_COLUMNS,
    IdentifierMapping,
    SourceMapping,
    StandardizeResult,
    standardize_source,
)
from matching.standardize.phones import normalize_phones
from matching.standardize.rules import Rule, rule_catalogue

__all__ = [
    "ACCURACY_FIELDS",
    "PARTY_COLUMNS",
    "QUARANTINE_COLUMNS",
    "IdentifierMapping",
    "Rule",
    "SourceMapping",
    "StandardizeResult",
    "as_text",
    "document_types_by_shape",
    "none_if_nan",
    "normalize_emails",
    "normalize_phones",
    "normalize_resident_ids",
    "parse_addresses",
    "parse_dates",
    "rule_catalogue",
    "standardization_accuracy",
    "standardize_names",
    "standardize_source",
]
