"""VNLP's eight models, each declared once with its family's component (`models.declarations`);
everything else reads the declarations (and plans a run with `models.planning`).

Nothing is imported here: the declarations import the components, which import the lower modules of
this package (`spec`, `resources`, `labels`, `decompose`, `vnlp_rows`), so those must load alone.
"""
