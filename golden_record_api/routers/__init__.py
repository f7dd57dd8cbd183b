"""One router per resource: health, golden records, customers."""
