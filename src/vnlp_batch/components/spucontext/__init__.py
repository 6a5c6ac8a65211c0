"""SPUContextPoS, SPUContextNER, SPUContextDP: component.py, graphs.py (their cut), fast.py."""
