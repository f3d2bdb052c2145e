"""The default profile's plugins, in upstream's order (default_plugins.go).

`FILTERS` run in this order and a node stops at its first failure, as
RunFilterPlugins does; `SCORERS` are (name, prescore) pairs weighted by
`SchedulerConfig.score_weights`. ImageLocality and the volume plugins are not modelled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from kcore.scheduler.nodeinfo import NodeInfo
from kcore.scheduler.plugins import (
    basic,
    interpodaffinity,
    nodeaffinity,
    nodeports,
    noderesources,
    podtopologyspread,
    tainttoleration,
)
from kcore.scheduler.plugins.framework import Cycle, FilterFn, ScorePlan

PreFilter = Callable[[Cycle], FilterFn | None]
PreScore = Callable[[Cycle, Sequence[NodeInfo]], ScorePlan | None]

FILTERS: Final[tuple[tuple[str, PreFilter], ...]] = (
    (basic.NODE_UNSCHEDULABLE, basic.prefilter_unschedulable),
    (basic.NODE_NAME, basic.prefilter_node_name),
    (tainttoleration.NAME, tainttoleration.prefilter),
    (nodeaffinity.NAME, nodeaffinity.prefilter),
    (nodeports.NAME, nodeports.prefilter),
    (noderesources.NAME, noderesources.prefilter),
    (podtopologyspread.NAME, podtopologyspread.prefilter),
    (interpodaffinity.NAME, interpodaffinity.prefilter),
)

SCORERS: Final[tuple[tuple[str, PreScore], ...]] = (
    (tainttoleration.NAME, tainttoleration.prescore),
    (nodeaffinity.NAME, nodeaffinity.prescore),
    (noderesources.NAME, noderesources.prescore_least_allocated),
    (podtopologyspread.NAME, podtopologyspread.prescore),
    (interpodaffinity.NAME, interpodaffinity.prescore),
    (noderesources.BALANCED, noderesources.prescore_balanced),
)
