"""Hypothesis profiles: `ci` (default, bounded, derandomized) and `deep` (long runs).

Select with KCORE_HYPOTHESIS_PROFILE=deep.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "deep",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("KCORE_HYPOTHESIS_PROFILE", "ci"))
