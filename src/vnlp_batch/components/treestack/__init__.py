"""TreeStackPoS, TreeStackDP: component.py, graphs.py (their cut), fast.py (their fast decoders)."""
