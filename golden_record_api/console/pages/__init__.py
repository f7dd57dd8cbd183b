"""One router per console workspace."""
