"""The ensemble's members, fixed by a rule before the test set is touched, and its score."""

from __future__ import annotations

import numpy as np
import pytest

from search.confirmation._ensemble import MIN_MEMBERS, Member, ensemble_members, ensemble_row, ensemble_section


def row(name: str, kind: str, seed: int, accuracy: float | None = 0.99, params: int = 1000) -> dict:
    return {"name": name, "kind": kind, "seed": seed, "test_accuracy": accuracy, "num_params": params,
            "train_images": 60_000, "hp_family": "cnn" if kind == "searched" else None}


ROWS = [row("cnn_small", "notebook", 0), row("cnn_small", "notebook", 1),
        row("a1", "searched", 0), row("a1", "searched", 1), row("b2", "searched", 0), row("b2", "searched", 1, None)]


def test_the_members_are_every_finished_seed_of_every_confirmed_searched_configuration() -> None:
    kept = {("a1", 0): 1, ("a1", 1): 1, ("b2", 0): 1}
    plan = ensemble_members(ROWS, kept)
    assert plan.members == (Member("a1", 0), Member("a1", 1), Member("b2", 0))  # b2's seed 1 failed
    assert plan.why_none is None


def test_fewer_than_two_confirmed_models_make_no_ensemble_and_say_why() -> None:
    plan = ensemble_members(ROWS[:3], {("a1", 0): 1})
    assert plan.members == ()
    assert plan.why_none == (f"no ensemble: it needs at least {MIN_MEMBERS} confirmed models and this run confirmed 1 "
                             "(1 configuration(s); --top-k and --confirm-seeds set how many)")
    assert ensemble_section(plan, None, model_file=None) == {
        "members": [], "rule": "every seed of every confirmed searched configuration, each on the image and its four "
                       "one-pixel shifts", "why_none": plan.why_none}


def test_the_ensemble_scores_the_argmax_of_its_members_averaged_probabilities() -> None:
    labels = np.array([0, 1, 2])
    # Each member is right on two images of three; averaged, they are right on all three.
    probabilities = {
        ("a1", 0): np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.6, 0.0, 0.4]]),
        ("a1", 1): np.array([[0.6, 0.4, 0.0], [0.6, 0.4, 0.0], [0.0, 0.0, 1.0]]),
    }
    plan = ensemble_members(ROWS[:4], probabilities)
    ensemble = ensemble_row(plan, probabilities, ROWS, labels)
    assert ensemble["test_correct"] == [True, True, True] and ensemble["test_accuracy"] == 1.0
    assert ensemble["test_loss"] == pytest.approx(-np.mean(np.log([0.75, 0.6, 0.7])))
    assert ensemble["members"] == ["a1/seed 0", "a1/seed 1"] and ensemble["num_params"] == 2000
    assert (ensemble["kind"], ensemble["family"], ensemble["test_images"]) == ("ensemble", "cnn", 3)
