"""Organisation API under /api/v1/orgs/: regions, agencies, agent banks and branches.

Lists take ``q`` (code prefix or part of the name), ``limit`` and ``offset`` and answer
``{"count": n, "items": [...]}``. Objects outside the caller's data scope answer 404 exactly like
missing ones.
"""

from ninja import Query, Router, Schema

from fmis.iam.api_auth import requires
from fmis.orgs import selectors, services
from fmis.orgs.functions import AGENCY_MANAGE, AGENCY_VIEW, BANK_MANAGE, BANK_VIEW, REGION_MANAGE, REGION_VIEW
from fmis.orgs.models import Agency, Bank, BankBranch, Region
from fmis.platform.api_schemas import page_schema
from fmis.platform.listing import api_page

router = Router(tags=["orgs"])



class Paging(Schema):
    q: str = ""
    limit: int = 50
    offset: int = 0



# --- schemas -----------------------------------------------------------------------------------

class RegionOut(Schema):
    id: int
    code: str
    name: str
    level: int
    level_name: str
    parent_code: str | None
    finance_department: str | None
    is_active: bool

    @staticmethod
    def resolve_level_name(obj: Region) -> str:
        return str(obj.get_level_display())

    @staticmethod
    def resolve_parent_code(obj: Region) -> str | None:
        return obj.parent.code if obj.parent_id else None

    @staticmethod
    def resolve_finance_department(obj: Region) -> str | None:
        dept = getattr(obj, "finance_department", None)
        return dept.name if dept else None


RegionPage = page_schema(RegionOut, "RegionPage")


class RegionIn(Schema):
    code: str
    name: str
    level: int
    parent_code: str | None = None
    finance_department_name: str = ""


class RegionPatch(Schema):
    name: str | None = None
    finance_department_name: str | None = None


class AgencyOut(Schema):
    id: int
    code: str
    name: str
    region_code: str
    region_name: str
    parent_code: str | None
    kind: str
    kind_name: str
    status: str
    status_name: str

    @staticmethod
    def resolve_region_code(obj: Agency) -> str:
        return obj.region.code

    @staticmethod
    def resolve_region_name(obj: Agency) -> str:
        return obj.region.name

    @staticmethod
    def resolve_parent_code(obj: Agency) -> str | None:
        return obj.parent.code if obj.parent_id else None

    @staticmethod
    def resolve_kind_name(obj: Agency) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_status_name(obj: Agency) -> str:
        return str(obj.get_status_display())


AgencyPage = page_schema(AgencyOut, "AgencyPage")


class AgencyFilter(Paging):
    region_code: str = ""
    status: str = ""
    kind: str = ""


class AgencyIn(Schema):
    code: str
    name: str
    region_code: str | None = None
    parent_code: str | None = None
    kind: str = Agency.Kind.ADMINISTRATIVE


class AgencyPatch(Schema):
    name: str | None = None
    kind: str | None = None


class BankOut(Schema):
    id: int
    code: str
    name: str
    is_agent: bool
    is_active: bool


BankPage = page_schema(BankOut, "BankPage")


class BankIn(Schema):
    code: str
    name: str
    is_agent: bool = True


class BankPatch(Schema):
    name: str | None = None
    is_agent: bool | None = None


class BranchOut(Schema):
    id: int
    code: str
    name: str
    bank_code: str
    bank_name: str
    region_code: str
    is_active: bool

    @staticmethod
    def resolve_bank_code(obj: BankBranch) -> str:
        return obj.bank.code

    @staticmethod
    def resolve_bank_name(obj: BankBranch) -> str:
        return obj.bank.name

    @staticmethod
    def resolve_region_code(obj: BankBranch) -> str:
        return obj.region.code


BranchPage = page_schema(BranchOut, "BranchPage")


class BranchFilter(Paging):
    bank_code: str = ""
    region_code: str = ""


class BranchIn(Schema):
    bank_code: str
    code: str
    name: str
    region_code: str


class BranchPatch(Schema):
    name: str | None = None
    region_code: str | None = None


# --- regions -----------------------------------------------------------------------------------

@router.get("/regions", response=RegionPage)
@requires(REGION_VIEW)
def list_regions(request, paging: Query[Paging]):
    return api_page(selectors.regions_for(user=request.user, q=paging.q), paging.limit, paging.offset)


@router.get("/regions/{pk}", response=RegionOut)
@requires(REGION_VIEW)
def get_region(request, pk: int):
    return selectors.region_detail(user=request.user, region_id=pk)


@router.post("/regions", response={201: RegionOut})
@requires(REGION_MANAGE)
def create_region(request, body: RegionIn):
    region = services.create_region(user=request.user, **body.dict())
    return 201, selectors.region_detail(user=request.user, region_id=region.pk, function=REGION_MANAGE)


@router.patch("/regions/{pk}", response=RegionOut)
@requires(REGION_MANAGE)
def update_region(request, pk: int, body: RegionPatch):
    services.update_region(user=request.user, region_id=pk, **body.dict())
    return selectors.region_detail(user=request.user, region_id=pk, function=REGION_MANAGE)


@router.post("/regions/{pk}/disable", response=RegionOut)
@requires(REGION_MANAGE)
def disable_region(request, pk: int):
    services.disable_region(user=request.user, region_id=pk)
    return selectors.region_detail(user=request.user, region_id=pk, function=REGION_MANAGE)


@router.post("/regions/{pk}/enable", response=RegionOut)
@requires(REGION_MANAGE)
def enable_region(request, pk: int):
    services.enable_region(user=request.user, region_id=pk)
    return selectors.region_detail(user=request.user, region_id=pk, function=REGION_MANAGE)


# --- agencies ----------------------------------------------------------------------------------

@router.get("/agencies", response=AgencyPage)
@requires(AGENCY_VIEW)
def list_agencies(request, filters: Query[AgencyFilter]):
    qs = selectors.agencies_for(user=request.user, q=filters.q, region_code=filters.region_code,
                                status=filters.status, kind=filters.kind)
    return api_page(qs, filters.limit, filters.offset)


@router.get("/agencies/{pk}", response=AgencyOut)
@requires(AGENCY_VIEW)
def get_agency(request, pk: int):
    return selectors.agency_detail(user=request.user, agency_id=pk)


@router.post("/agencies", response={201: AgencyOut})
@requires(AGENCY_MANAGE)
def create_agency(request, body: AgencyIn):
    agency = services.create_agency(user=request.user, **body.dict())
    return 201, selectors.agency_detail(user=request.user, agency_id=agency.pk, function=AGENCY_MANAGE)


@router.patch("/agencies/{pk}", response=AgencyOut)
@requires(AGENCY_MANAGE)
def update_agency(request, pk: int, body: AgencyPatch):
    services.update_agency(user=request.user, agency_id=pk, **body.dict())
    return selectors.agency_detail(user=request.user, agency_id=pk, function=AGENCY_MANAGE)


@router.post("/agencies/{pk}/disable", response=AgencyOut)
@requires(AGENCY_MANAGE)
def disable_agency(request, pk: int):
    services.disable_agency(user=request.user, agency_id=pk)
    return selectors.agency_detail(user=request.user, agency_id=pk, function=AGENCY_MANAGE)


@router.post("/agencies/{pk}/enable", response=AgencyOut)
@requires(AGENCY_MANAGE)
def enable_agency(request, pk: int):
    services.enable_agency(user=request.user, agency_id=pk)
    return selectors.agency_detail(user=request.user, agency_id=pk, function=AGENCY_MANAGE)


# --- banks and branches ------------------------------------------------------------------------

@router.get("/banks", response=BankPage)
@requires(BANK_VIEW)
def list_banks(request, paging: Query[Paging]):
    return api_page(selectors.banks_for(user=request.user, q=paging.q), paging.limit, paging.offset)


@router.get("/banks/{pk}", response=BankOut)
@requires(BANK_VIEW)
def get_bank(request, pk: int):
    return selectors.bank_detail(user=request.user, bank_id=pk)


@router.post("/banks", response={201: BankOut})
@requires(BANK_MANAGE)
def create_bank(request, body: BankIn):
    return 201, services.create_bank(user=request.user, **body.dict())


@router.patch("/banks/{pk}", response=BankOut)
@requires(BANK_MANAGE)
def update_bank(request, pk: int, body: BankPatch):
    return services.update_bank(user=request.user, bank_id=pk, **body.dict())


@router.post("/banks/{pk}/disable", response=BankOut)
@requires(BANK_MANAGE)
def disable_bank(request, pk: int) -> Bank:
    return services.disable_bank(user=request.user, bank_id=pk)


@router.post("/banks/{pk}/enable", response=BankOut)
@requires(BANK_MANAGE)
def enable_bank(request, pk: int) -> Bank:
    return services.enable_bank(user=request.user, bank_id=pk)


@router.get("/branches", response=BranchPage)
@requires(BANK_VIEW)
def list_branches(request, filters: Query[BranchFilter]):
    qs = selectors.branches_for(user=request.user, q=filters.q, region_code=filters.region_code)
    if filters.bank_code:
        qs = qs.filter(bank__code=filters.bank_code)
    return api_page(qs, filters.limit, filters.offset)


@router.get("/branches/{pk}", response=BranchOut)
@requires(BANK_VIEW)
def get_branch(request, pk: int):
    return selectors.branch_detail(user=request.user, branch_id=pk)


@router.post("/branches", response={201: BranchOut})
@requires(BANK_MANAGE)
def create_branch(request, body: BranchIn):
    branch = services.create_branch(user=request.user, **body.dict())
    return 201, selectors.branch_detail(user=request.user, branch_id=branch.pk, function=BANK_MANAGE)


@router.patch("/branches/{pk}", response=BranchOut)
@requires(BANK_MANAGE)
def update_branch(request, pk: int, body: BranchPatch):
    services.update_branch(user=request.user, branch_id=pk, **body.dict())
    return selectors.branch_detail(user=request.user, branch_id=pk, function=BANK_MANAGE)


@router.post("/branches/{pk}/disable", response=BranchOut)
@requires(BANK_MANAGE)
def disable_branch(request, pk: int):
    services.disable_branch(user=request.user, branch_id=pk)
    return selectors.branch_detail(user=request.user, branch_id=pk, function=BANK_MANAGE)


@router.post("/branches/{pk}/enable", response=BranchOut)
@requires(BANK_MANAGE)
def enable_branch(request, pk: int):
    services.enable_branch(user=request.user, branch_id=pk)
    return selectors.branch_detail(user=request.user, branch_id=pk, function=BANK_MANAGE)
