"""The library's tests: a deterministic hypothesis profile (their problems and comparisons are in cases.py)."""

from hypothesis import HealthCheck, settings

# derandomize: the same examples on every run and machine (the project's determinism rule).
settings.register_profile(
    "pgbook", derandomize=True, deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("pgbook")
