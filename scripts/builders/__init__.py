"""Per-source builders of the shipped data files; scripts/build_data.py runs them."""
