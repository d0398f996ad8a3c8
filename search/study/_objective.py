"""What the search optimizes, defined once: the validation accuracy a trial reports each epoch."""

METRIC = "val_accuracy"
MODE = "max"
