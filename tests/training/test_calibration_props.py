"""`calibration_props` matches only the calibration slice's rows to the lines: the fitted
probability layer must be the one fitted from every training row's props."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nbaprops.data.synthetic import SyntheticSource
from nbaprops.training.fit import FittedPropsModel, calibration_props, fit_props_model
from nbaprops.training.prepare import prepare
from nbaprops.training.props import props_for_rows


def test_the_probability_layer_is_the_one_fitted_from_all_training_props() -> None:
    feed = SyntheticSource(seed=2, teams=6, seasons=["2023-24", "2024-25"]).load()
    data = prepare(feed, "PTS", "full")
    seg = data.segments
    sliced = calibration_props(seg, data.lines, data.target)
    everything = props_for_rows(seg, data.lines, data.target)
    assert 0 < len(sliced) < len(everything) / 3
    # the slice's props are exactly the full match's props of the slice's rows
    expected = everything[everything["row"].isin(sliced["row"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(sliced, expected)

    def fit(props: pd.DataFrame) -> FittedPropsModel:
        return fit_props_model(data.X, data.y, seg["game_date"], seg["tier"].to_numpy(), props,
                               model_type="xgboost", overrides={"n_estimators": 30},
                               calibration="isotonic", seed=1, n_jobs=1)  # fmt: skip

    a, b = fit(sliced), fit(everything)
    assert a.sigma_by_tier == b.sigma_by_tier and a.phi_by_tier == b.phi_by_tier
    mu = np.linspace(2.0, 35.0, 200)
    line = np.round(mu * 0.9) + 0.5
    tiers = np.resize(np.array(["star", "rotation", "bench"]), mu.size)
    np.testing.assert_array_equal(a.prob_over(mu, line, tiers), b.prob_over(mu, line, tiers))
