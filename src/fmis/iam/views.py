from django.contrib.auth import authenticate, login, logout
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

LOGIN_ERRORS = {
    "locked": "登录失败次数过多，账户已临时锁定，请稍后再试。",
    "inactive": "账户已暂停、无效或已过期，请联系管理员。",
}


def login_view(request):
    error = ""
    if request.method == "POST":
        user = authenticate(request, username=request.POST.get("username", "").strip(),
                            password=request.POST.get("password", ""))
        if user is not None:
            login(request, user)
            nxt = request.POST.get("next") or request.GET.get("next") or "/"
            if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
                nxt = "/"
            return redirect(nxt)
        error = _(LOGIN_ERRORS.get(getattr(request, "fmis_login_error", ""), "用户编码或密码不正确。"))
    return render(request, "iam/login.html", {"error": error, "next": request.GET.get("next", "")})


@require_POST
def logout_view(request):
    logout(request)
    return redirect("iam:login")
