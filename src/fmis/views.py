from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def home(request):
    from fmis.platform.workflow import selectors as wf

    return render(request, "home.html", {"pending": wf.inbox_pending(user=request.user)[:20],
                                         "done": wf.inbox_done(user=request.user)[:10]})
