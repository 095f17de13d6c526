"""Data elements that data scope rules range over.

A restricted model names, in ``scope_fields``, the ORM path to the code of each dimension it
carries, e.g. ``{"agency": "agency__code", "region": "region__code"}``. Rules on a dimension the
model does not carry do not restrict that model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import get_language

from fmis.platform.codes import region_prefix


def _same_code(code: str) -> str:
    return code


@dataclass(frozen=True)
class Dimension:
    code: str
    name: str
    name_en: str
    subtree_prefix: Callable[[str], str] = _same_code
    value_set: str = ""  # dictionary data element code that lists the values, if any

    @property
    def display_name(self) -> str:
        """The name in the interface language."""
        return self.name_en if (get_language() or "").startswith("en") else self.name


DIMENSIONS: dict[str, Dimension] = {}


def register(dim: Dimension) -> Dimension:
    DIMENSIONS[dim.code] = dim
    return dim


register(Dimension("region", "财政区划", "Region", region_prefix))
register(Dimension("agency", "预算单位", "Agency"))
register(Dimension("bank", "代理银行", "Agent bank"))
register(Dimension("fund_type", "资金性质", "Fund type", value_set="FUND_TYPE"))
register(Dimension("func_code", "支出功能分类", "Functional classification", value_set="EXP_FUNC"))
register(Dimension("gov_eco_code", "政府支出经济分类", "Government economic classification", value_set="GOV_ECO"))
register(Dimension("dept_eco_code", "部门支出经济分类", "Department economic classification", value_set="DEPT_ECO"))
register(Dimension("indicator_type", "指标类型", "Indicator type", value_set="BGT_TYPE"))
