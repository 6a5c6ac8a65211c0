"""Text corpora: the bundled Turkish sample and the readers that feed batches to the annotators."""
