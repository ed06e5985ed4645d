"""Point-prediction models: XGBoost, LightGBM and their averaging ensemble."""
