"""Settings of the benchmarks: the shared settings (`portal.settings.base`) plus what only the
benchmarks want. Every benchmark process runs them; the benchmarks' own knobs (BENCH_*) are
read by the benchmark modules from their environment, never by the portal's settings.
"""

from portal.settings.base import *  # noqa: F403 - the benchmarks measure the shared settings

# The portal's URLs plus /bench/bare, the bare Django view the web benchmark compares with.
ROOT_URLCONF = "bench.urls"
# The benchmarks never collect static files: without a STATIC_ROOT, WhiteNoise does not warn
# about a folder no collectstatic has made.
STATIC_ROOT = None
