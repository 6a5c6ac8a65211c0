"""Where model weights come from (VNLP's object store, a directory, or seeded synthetic draws with
their calibration) and how they are read safely."""
