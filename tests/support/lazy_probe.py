"""Imported only through chalicelib.lazy in tests/unit/test_count_changes.py (never directly)."""
VALUE = "loaded"
