"""StemmerAnalyzer: component.py, graphs.py (its cut), fast.py (its fast decoder)."""
