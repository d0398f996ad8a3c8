"""The confirmation: the search's best configurations and the notebook's models retrained with
several seeds on all training images and scored once on the test set, as a small pool of
Ray actors; the notebook's measurements cached across runs."""

from search.confirmation._candidates import confirm_seeds, select_top_configurations
from search.confirmation._confirm import ConfirmSettings, confirm

__all__ = ["ConfirmSettings", "confirm", "confirm_seeds", "select_top_configurations"]
