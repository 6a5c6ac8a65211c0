"""Where model weights come from and how they are read safely."""
