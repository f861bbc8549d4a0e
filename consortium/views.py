"""Pages of the consortium: home, institutions and their people, health, error pages."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from consortium import selectors, services
from consortium.forms import ApiTokenForm, LoginForm, MembershipRoleForm
from portal import cached_pages, ratelimit
from portal.clientip import client_ip
from portal.errors import DomainError
from portal.permissions import AuthenticatedHttpRequest, Perm, actor_for, can, require


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form, with a limit on e-mails per client address and per e-mail address
    (PASSWORD_RESET_LIMIT_PER_ADDRESS, PASSWORD_RESET_LIMIT_PER_EMAIL per
    PASSWORD_RESET_WINDOW_SECONDS). Counted whether or not an account has that e-mail, so the
    limit tells nobody which addresses are accounts."""

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        window = settings.PASSWORD_RESET_WINDOW_SECONDS
        by_address = ratelimit.allow(
            "reset-address",
            client_ip(self.request),
            limit=settings.PASSWORD_RESET_LIMIT_PER_ADDRESS,
            window=window,
        )
        by_email = ratelimit.allow(
            "reset-email",
            form.cleaned_data["email"].strip().lower(),
            limit=settings.PASSWORD_RESET_LIMIT_PER_EMAIL,
            window=window,
        )
        if by_address and by_email:
            return super().form_valid(form)
        minutes = max(1, window // 60)
        form.add_error(
            None,
            "Too many password reset requests: no e-mail was sent. "
            f"Try again in {minutes} minutes, or ask a steward of your institution.",
        )
        return self.render_to_response(self.get_context_data(form=form), status=429)


@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Everyone lands here after signing in and comes back often; the sections take a query
    # each, so the page is cached per person under the versions of the sections it shows
    # (portal/cached_pages.py); the ledger's figures are on auditors' pages only.
    def page(extra: dict[str, object]) -> HttpResponse:
        sections = selectors.home_sections(user=request.user)
        return render(request, "consortium/home.html", {"sections": sections, **extra})

    shown = ["consortium", "access", "surveys"]
    return cached_pages.serve(
        request,
        name="home",
        sections=[*shown, "ledger"] if actor_for(request.user).is_auditor else shown,
        render=page,
        valid_until=lambda: selectors.home_valid_until(user=request.user),
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The account's API tokens; POST creates one (with an optional name) and shows it once."""
    form = ApiTokenForm(request.POST or None)
    secret = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            _, secret = services.api_token_issue(user=request.user, name=form.cleaned_data["name"])
            form = ApiTokenForm()
        else:
            status = 400
    rows = selectors.api_token_list(user=request.user)
    return render(
        request,
        "consortium/tokens.html",
        {"tokens": rows, "form": form, "secret": secret, "ttl_hours": settings.API_TOKEN_TTL_HOURS},
        status=status,
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST revokes. Someone else's token is not found."""
    token = get_object_or_404(selectors.api_token_list(user=request.user), pk=pk)
    if request.method == "POST":
        services.api_token_revoke(token=token)
        messages.success(request, f"The token {token.prefix}… was revoked.")
        return redirect("tokens")
    return render(request, "consortium/token_revoke.html", {"token": token})


@login_required
def institutions(request: AuthenticatedHttpRequest) -> HttpResponse:
    require(request.user, Perm.INSTITUTION_VIEW)
    rows = selectors.institution_list(user=request.user)
    return render(request, "consortium/institutions.html", {"institutions": rows})


@login_required
def institution_detail(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    institution = get_object_or_404(selectors.institution_list(user=request.user), slug=slug)
    members = None
    if can(request.user, Perm.MEMBERSHIP_LIST, institution):
        members = selectors.membership_list(user=request.user, institution=institution)
    return render(
        request,
        "consortium/institution_detail.html",
        {
            "institution": institution,
            "members": members,
            "may_change": {
                m.pk for m in members or [] if can(request.user, Perm.MEMBERSHIP_CHANGE, m)
            },
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def membership_role(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(selectors.membership_visible_qs(user=request.user), pk=pk)
    require(request.user, Perm.MEMBERSHIP_CHANGE, membership)
    form = MembershipRoleForm(request.POST or None, initial={"role": membership.role})
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_set_role(
                by=request.user, membership=membership, role=form.cleaned_data["role"]
            )
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request, f"{membership.user.get_username()} is now {form.cleaned_data['role']}."
            )
            return redirect("institution-detail", slug=membership.institution.slug)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "consortium/membership_role.html",
        {"membership": membership, "form": form},
        status=status,
    )
