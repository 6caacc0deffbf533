"""One CCP validation split for training, the parsing benchmark and the mobile-architecture benchmark."""
from pathlib import Path

import pytest

from mobile_kit.data.dataset import Pair, split_pairs
from mobile_kit.data.splits import CCP_SPLIT, STANDARD_SPLITS, SplitRule, split_rule_for
from tests.conftest import SHARED, need_shared


def _pairs(n):
    return [Pair(f"{i:04d}", Path(f"{i:04d}.jpg"), Path(f"{i:04d}.png")) for i in range(n)]


def test_ccp_split_is_the_documented_one():
    assert STANDARD_SPLITS["ccp"] is CCP_SPLIT == SplitRule(0.15, 0)
    assert split_rule_for("ccp", 0.3, 7) == CCP_SPLIT  # the run's --val-fraction/--seed do not move it
    assert split_rule_for("masks", 0.3, 7) == SplitRule(0.3, 7)


@pytest.mark.parametrize("n", [20, 171, 857])
def test_ccp_val_is_a_subset_of_the_older_0_2_val(n):
    """The argument that lets the issue-12 runs (trained on the 0.2 split's train part) be scored without retraining."""
    _, val15 = CCP_SPLIT.split(_pairs(n))
    train20, val20 = split_pairs(_pairs(n), 0.2, CCP_SPLIT.seed)
    assert len(val15) == max(1, round(0.15 * n))
    assert {p.stem for p in val15} <= {p.stem for p in val20}
    assert not {p.stem for p in val15} & {p.stem for p in train20}
    # and it is not true for a different seed: the subset comes from sharing one permutation
    _, other = split_pairs(_pairs(n), 0.2, CCP_SPLIT.seed + 1)
    assert not {p.stem for p in val15} <= {p.stem for p in other}


def test_recipe_holds_out_the_ccp_split_whatever_the_run_val_fraction(tmp_path, make_dataset):
    from mobile_kit.recipe import RecipeConfig
    from mobile_kit.recipe.prepare import load_recipe_data
    from mobile_kit.recipe.sources import SourceSpec, source_split
    from mobile_kit.specs import InputSpec
    from tests.unit.test_recipe import _write_ccp

    ds = make_dataset(n=6)
    ccp = _write_ccp(tmp_path / "ccp", n=20)
    cfg = RecipeConfig(extra_sources=[SourceSpec("ccp", ccp)])
    data = load_recipe_data(SourceSpec("masks", ds), cfg, InputSpec(32, 32, 3), val_fraction=0.5, seed=3,
                            max_images=None)
    val = data.val_pairs_by_source
    assert len(val["0:masks:ds"]) == 3  # masks folders follow --val-fraction 0.5
    _, expected, _ = source_split(SourceSpec("ccp", ccp), CCP_SPLIT.val_fraction, CCP_SPLIT.seed)
    assert [p.stem for p in val["1:ccp:ccp"]] == [p.stem for p in expected] and len(expected) == 3
    assert data.counts["1:ccp:ccp"] == 17


def test_real_ccp_val_split_has_129_photos_inside_the_old_171():
    from mobile_kit.recipe.sources import SourceSpec, source_split

    ccp = need_shared(SHARED / "data" / "ccp")
    _, val15, _ = source_split(SourceSpec("ccp", ccp), CCP_SPLIT.val_fraction, CCP_SPLIT.seed)
    _, val20, _ = source_split(SourceSpec("ccp", ccp), 0.2, 0)
    assert (len(val15), len(val20)) == (129, 171)
    assert {p.stem for p in val15} <= {p.stem for p in val20}
