"""MTAAL active learning: the network and its adversarial games, query strategies and evaluation metrics."""
