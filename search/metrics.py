"""The metric the search optimizes, defined once."""

METRIC = "val_accuracy"
MODE = "max"
