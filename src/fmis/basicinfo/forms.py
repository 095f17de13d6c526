"""Forms of the basic information screens: parse what people type; the services check the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from fmis.basicinfo import services
from fmis.basicinfo.functions import MANAGE, STANDARD_MANAGE
from fmis.basicinfo.models import Asset, ExpenditureStandard, PersonCategory, Personnel, Vehicle, VehicleType


def agency_choices(user, function: str = MANAGE):
    from fmis.orgs.models import Agency

    qs = Agency.objects.restrict(user, function).filter(status=Agency.Status.ACTIVE).order_by("code")[:500]
    return [(a.pk, f"{a.code} {a.name}") for a in qs]


class PersonForm(forms.Form):
    agency = forms.TypedChoiceField(label=_("预算单位"), coerce=int)
    fiscal_year = forms.IntegerField(label=_("预算年度"))
    name = forms.CharField(label=_("姓名"), max_length=50)
    id_number = forms.CharField(label=_("身份证号"), max_length=18, required=False,
                                help_text=_("只保存脱敏后的号码；修改时留空表示不变"))
    category = forms.ChoiceField(label=_("人员类别"), choices=PersonCategory.choices)
    post = forms.CharField(label=_("职务"), max_length=50, required=False)
    grade = forms.CharField(label=_("级别"), max_length=30, required=False)
    status = forms.ChoiceField(label=_("状态"), choices=Personnel.Status.choices)
    salary = forms.CharField(label=_("工资项目（月标准）"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                             help_text=_("每行一项，写成“经济分类:金额”，如 30101:4500"))

    def __init__(self, *args, user, fixed: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = agency_choices(user)
        if fixed:
            self.fields["agency"].disabled = True
            self.fields["fiscal_year"].disabled = True

    @staticmethod
    def initial_for(p: Personnel) -> dict:
        return {"agency": p.agency_id, "fiscal_year": p.fiscal_year, "name": p.name, "category": p.category,
                "post": p.post, "grade": p.grade, "status": p.status,
                "salary": "\n".join(f"{s.eco_code}:{s.monthly_amount}" for s in p.salary_items.all())}

    def to_input(self) -> services.PersonInput:
        d = self.cleaned_data
        salary = {}
        for line in (d.get("salary") or "").replace("：", ":").splitlines():
            if line.strip():
                eco, _sep, amount = line.partition(":")
                salary[eco.strip()] = amount.strip().replace(",", "")
        return services.PersonInput(agency_id=d["agency"], fiscal_year=d["fiscal_year"], name=d["name"],
                                    id_number=d.get("id_number", ""), category=d["category"], post=d.get("post", ""),
                                    grade=d.get("grade", ""), status=d["status"], salary=salary)


class VehicleForm(forms.Form):
    agency = forms.TypedChoiceField(label=_("预算单位"), coerce=int)
    fiscal_year = forms.IntegerField(label=_("预算年度"))
    plate_no = forms.CharField(label=_("车牌号"), max_length=12)
    vehicle_type = forms.ChoiceField(label=_("车辆类型"), choices=VehicleType.choices)
    brand = forms.CharField(label=_("品牌型号"), max_length=60, required=False)
    displacement = forms.CharField(label=_("排气量"), max_length=10, required=False)
    purchase_date = forms.DateField(label=_("购置日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    original_value = forms.CharField(label=_("原值（元）"), max_length=30, required=False)
    status = forms.ChoiceField(label=_("状态"), choices=Vehicle.Status.choices)

    def __init__(self, *args, user, fixed: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = agency_choices(user)
        if fixed:
            self.fields["agency"].disabled = True
            self.fields["fiscal_year"].disabled = True

    @staticmethod
    def initial_for(v: Vehicle) -> dict:
        return {"agency": v.agency_id, "fiscal_year": v.fiscal_year, "plate_no": v.plate_no,
                "vehicle_type": v.vehicle_type, "brand": v.brand, "displacement": v.displacement,
                "purchase_date": v.purchase_date, "original_value": v.original_value, "status": v.status}

    def to_input(self) -> services.VehicleInput:
        d = self.cleaned_data
        return services.VehicleInput(agency_id=d["agency"], fiscal_year=d["fiscal_year"], plate_no=d["plate_no"],
                                     vehicle_type=d["vehicle_type"], brand=d.get("brand", ""),
                                     displacement=d.get("displacement", ""), purchase_date=d.get("purchase_date"),
                                     original_value=(d.get("original_value") or "0").replace(",", ""),
                                     status=d["status"])


class AssetForm(forms.Form):
    agency = forms.TypedChoiceField(label=_("预算单位"), coerce=int)
    fiscal_year = forms.IntegerField(label=_("预算年度"))
    code = forms.CharField(label=_("资产编号"), max_length=40)
    name = forms.CharField(label=_("资产名称"), max_length=100)
    category = forms.ChoiceField(label=_("资产分类"), choices=Asset.Category.choices)
    quantity = forms.CharField(label=_("数量"), max_length=20, initial="1")
    unit = forms.CharField(label=_("计量单位"), max_length=10, required=False)
    original_value = forms.CharField(label=_("原值（元）"), max_length=30, required=False)
    net_value = forms.CharField(label=_("净值（元）"), max_length=30, required=False)
    acquired_on = forms.DateField(label=_("取得日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(label=_("状态"), choices=Asset.Status.choices)

    def __init__(self, *args, user, fixed: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = agency_choices(user)
        if fixed:
            self.fields["agency"].disabled = True
            self.fields["fiscal_year"].disabled = True

    @staticmethod
    def initial_for(a: Asset) -> dict:
        return {"agency": a.agency_id, "fiscal_year": a.fiscal_year, "code": a.code, "name": a.name,
                "category": a.category, "quantity": a.quantity.normalize(), "unit": a.unit,
                "original_value": a.original_value, "net_value": a.net_value, "acquired_on": a.acquired_on,
                "status": a.status}

    def to_input(self) -> services.AssetInput:
        d = self.cleaned_data
        return services.AssetInput(agency_id=d["agency"], fiscal_year=d["fiscal_year"], code=d["code"],
                                   name=d["name"], category=d["category"],
                                   quantity=(d.get("quantity") or "").replace(",", ""), unit=d.get("unit", ""),
                                   original_value=(d.get("original_value") or "0").replace(",", ""),
                                   net_value=(d.get("net_value") or "0").replace(",", ""),
                                   acquired_on=d.get("acquired_on"), status=d["status"])


class StandardForm(forms.Form):
    region = forms.TypedChoiceField(label=_("财政区划"), coerce=int)
    fiscal_year = forms.IntegerField(label=_("预算年度"))
    name = forms.CharField(label=_("标准名称"), max_length=100)
    kind = forms.ChoiceField(label=_("标准类别"), choices=ExpenditureStandard.Kind.choices)
    person_category = forms.ChoiceField(label=_("人员类别"), choices=[("", "—"), *PersonCategory.choices],
                                        required=False)
    agency_type = forms.ChoiceField(label=_("单位类型"), required=False)
    vehicle_type = forms.ChoiceField(label=_("车辆类型"), choices=[("", "—"), *VehicleType.choices], required=False)
    eco_code = forms.CharField(label=_("部门支出经济分类"), max_length=20)
    func_code = forms.CharField(label=_("支出功能分类"), max_length=13, required=False)
    amount = forms.CharField(label=_("定额（元/人·年 或 元/车·年）"), max_length=30)
    is_active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from fmis.orgs.models import Agency, Region

        self.fields["region"].choices = [(r.pk, f"{r.code} {r.name}") for r in
                                         Region.objects.restrict(user, STANDARD_MANAGE).order_by("code")[:500]]
        self.fields["agency_type"].choices = [("", "—"), *Agency.Kind.choices]

    @staticmethod
    def initial_for(s: ExpenditureStandard) -> dict:
        return {"region": s.region_id, "fiscal_year": s.fiscal_year, "name": s.name, "kind": s.kind,
                "person_category": s.person_category or "", "agency_type": s.agency_type or "",
                "vehicle_type": s.vehicle_type or "", "eco_code": s.eco_code, "func_code": s.func_code or "",
                "amount": s.amount, "is_active": s.is_active}

    def to_input(self) -> services.StandardInput:
        d = self.cleaned_data
        return services.StandardInput(
            region_id=d["region"], fiscal_year=d["fiscal_year"], name=d["name"], kind=d["kind"],
            eco_code=d["eco_code"], amount=d["amount"].replace(",", ""), person_category=d.get("person_category") or None,
            agency_type=d.get("agency_type") or None, vehicle_type=d.get("vehicle_type") or None,
            func_code=d.get("func_code") or None, is_active=d.get("is_active", False))
