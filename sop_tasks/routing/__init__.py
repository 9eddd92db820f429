"""Routing incoming public messages to the bidang concerned, and flagging spam (SOP step 7).

Every comment, mention, reply or message collected in step 6 is read here: spam is recognised
first and is not forwarded (it stays in the records, reviewable with ``sop spam daftar``);
anything else goes to the bidang concerned. Two judges work together: the rules of
``config/routing.yaml`` and a model learned from labelled messages and from every correction the
bidang make (``Teruskan``, "bukan untuk kami", spam / bukan spam).

The package, by seam:

- :mod:`.normalize` — Indonesian social-media normalisation (slang list in ``slang.yaml``);
- :mod:`.rules` — the schema, validation and compilation of ``routing.yaml`` (safe patterns);
- :mod:`.router` — the rules router and its decision;
- :mod:`.model` — the learned model and :class:`LearnedRouter` (rules + model);
- :mod:`.evaluation` — the labelled data (``data/``), accuracy, confusion matrix, cross-validation;
- :mod:`.store` — corrections as labels and model versions in the records; the live model;
- :mod:`.review` — spam review: list and restore;
- :mod:`.cli` — ``sop route`` and ``sop spam``.

Domain code: does not import Airflow.
"""

from sop_tasks.routing.cli import describe, main_route
from sop_tasks.routing.evaluation import AccuracyReport, Sample, cross_validate, evaluate, load_samples
from sop_tasks.routing.model import LearnedRouter, TextModel
from sop_tasks.routing.normalize import SLANG, Analysis, Normalizer, normalize, stem
from sop_tasks.routing.router import RouteDecision, Router
from sop_tasks.routing.rules import RULES_FILE, RoutingRules, SpamRule, load_rules, pattern_problem

__all__ = [
    "RULES_FILE",
    "SLANG",
    "AccuracyReport",
    "Analysis",
    "LearnedRouter",
    "Normalizer",
    "RouteDecision",
    "Router",
    "RoutingRules",
    "Sample",
    "SpamRule",
    "TextModel",
    "cross_validate",
    "describe",
    "evaluate",
    "load_rules",
    "load_samples",
    "main_route",
    "normalize",
    "pattern_problem",
    "stem",
]
