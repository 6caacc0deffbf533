"""The standard validation split of each dataset kind: one definition for training, eval and every benchmark.

A split is :func:`mobile_kit.data.split_pairs`' rule: pairs sorted by stem,
``numpy.random.default_rng(seed).permutation(N)``, the first
``round(val_fraction * N)`` of that permutation held out as validation.

**Clothing Co-Parsing** (``ccp``, ``../shared/data/ccp``, 857 labelled photos):
``val_fraction 0.15, seed 0`` -> 129 validation photos
(:data:`CCP_SPLIT`). It serves the parsing model (``builtin:parsing``,
``benchmarks/parsing_ccp.py``) and the binary ``ccp:`` source of the training
recipe (``benchmarks/mobile_arch.py``), which used ``val_fraction 0.2, seed 0``
(171 photos) before. Because the rule takes a *prefix* of one seeded
permutation of the same sorted list, the 0.15 validation set is a subset of
the 0.2 one: a model trained on the train part of the 0.2 split (the issue-12
runs) has never seen any photo of the 0.15 validation set either, so every
model is scored on the same held-out photos without retraining.
"""
from __future__ import annotations

from dataclasses import dataclass

from mobile_kit.data.dataset import Pair, split_pairs


@dataclass(frozen=True)
class SplitRule:
    """``val_fraction`` in ``[0, 1)`` and ``seed`` of :func:`mobile_kit.data.split_pairs`."""

    val_fraction: float
    seed: int

    def split(self, pairs: list[Pair]) -> tuple[list[Pair], list[Pair]]:
        """``(train, val)`` pairs of ``pairs`` under this rule (each sorted by stem)."""
        return split_pairs(pairs, self.val_fraction, self.seed)

    def to_dict(self) -> dict:
        return {"val_fraction": self.val_fraction, "seed": self.seed,
                "rule": "pairs sorted by stem; numpy default_rng(seed).permutation(N); "
                        "first round(val_fraction * N) = val"}


#: The one CCP validation split (see the module docstring for why 0.15 and why it needs no retraining).
CCP_SPLIT = SplitRule(val_fraction=0.15, seed=0)

#: Dataset kind (a ``--data KIND:PATH`` prefix) -> its standard split.
STANDARD_SPLITS: dict[str, SplitRule] = {"ccp": CCP_SPLIT}


def split_rule_for(kind: str, val_fraction: float, seed: int) -> SplitRule:
    """The standard split of dataset ``kind`` if it has one, else ``SplitRule(val_fraction, seed)``.

    The training recipe splits each ``--data`` source with this: ``ccp:``
    sources always hold out :data:`CCP_SPLIT`'s photos, whatever the run's
    ``--val-fraction``/``--seed`` (which apply to ``masks`` folders).
    """
    return STANDARD_SPLITS.get(kind, SplitRule(val_fraction, seed))
