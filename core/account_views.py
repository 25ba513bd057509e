"""The account's own pages: sign-in and password reset with their limits, and API tokens."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_http_methods, require_POST

from . import ratelimits, signup
from .api.authentication import create_token, mark_signed_in, revoke_token
from .forms import ApiTokenForm, OutboxPasswordResetForm, SignUpForm
from .models import ApiToken

TOO_MANY_SIGN_INS = "Too many sign-in attempts. Wait a few minutes and try again."
TOO_MANY_RESETS = "Too many password reset requests. Wait a while and try again."
TOO_MANY_SIGN_UPS = "Too many sign-ups from here. Wait a while and try again."
TOO_MANY_TOKENS = "Too many API tokens created. Wait a while and try again."
TOKENS_SHOWN = 100  # a person has a handful; the page never grows without bound


class SignInView(auth_views.LoginView):
    """Django's sign-in, limited per e-mail address and per client address (HTTP 429)."""

    def post(self, request, *args, **kwargs):
        if ratelimits.exceeded(request, ratelimits.SIGN_IN):
            # An unbound form: validating the bound one would try the password after all.
            form = self.get_form_class()(
                request, initial={"username": request.POST.get("username", "")}
            )
            context = self.get_context_data(form=form, rate_limited=TOO_MANY_SIGN_INS)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        mark_signed_in(self.request)  # after login(), which gave the session a new key
        return response


class LimitedPasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, limited per e-mail address asked for and per client address.

    The limit counts the address typed, not an account, so the answer says nothing about
    whether the account exists.
    """

    form_class = OutboxPasswordResetForm
    email_template_name = "registration/password_reset_email.txt"
    html_email_template_name = "registration/password_reset_email.html"

    def post(self, request, *args, **kwargs):
        if ratelimits.exceeded(request, ratelimits.PASSWORD_RESET):
            form = self.get_form()
            form.add_error(None, TOO_MANY_RESETS)  # the form has one field, an address
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)


@require_http_methods(["GET", "POST"])
def sign_up(request):
    """The help center's sign-up: whatever the address, the answer is "check your inbox"."""
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        if ratelimits.exceeded(request, ratelimits.SIGN_UP):
            form = SignUpForm(initial={"full_name": request.POST.get("full_name", "")})
            context = {"form": form, "rate_limited": TOO_MANY_SIGN_UPS}
            return render(request, "registration/signup.html", context, status=429)
        if form.is_valid():
            signup.sign_up(
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
            )
            request.session["signup_email"] = form.cleaned_data["email"]
            return redirect("signup-sent")
    return render(request, "registration/signup.html", {"form": form})


def sign_up_sent(request):
    return render(
        request, "registration/signup_sent.html", {"email": request.session.get("signup_email")}
    )


@require_http_methods(["GET", "POST"])
def sign_up_confirm(request, token):
    """GET shows a button and POST confirms: mail scanners open links, people press buttons."""
    pending = signup.pending_user(token)
    if request.method == "POST" and pending is not None:
        user = signup.confirm(token)
        if user is not None:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            mark_signed_in(request)
            messages.success(request, "Your address is confirmed. Welcome!")
            return redirect("home")
    status = 200 if pending is not None else 410
    return render(request, "registration/signup_confirm.html", {"pending": pending}, status=status)


def _tokens_page(request, form, *, status=200, rate_limited=""):
    tokens = list(ApiToken.objects.filter(user=request.user)[:TOKENS_SHOWN])
    context = {"tokens": tokens, "form": form, "rate_limited": rate_limited}
    return render(request, "core/tokens.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    """The signed-in person's API tokens, and a form to create one (with their password)."""
    if request.method == "GET":
        return _tokens_page(request, ApiTokenForm(user=request.user))
    if ratelimits.exceeded(request, ratelimits.TOKEN_CREATE):
        form = ApiTokenForm(user=request.user, initial={"name": request.POST.get("name", "")})
        return _tokens_page(request, form, status=429, rate_limited=TOO_MANY_TOKENS)
    form = ApiTokenForm(request.POST, user=request.user)
    if not form.is_valid():
        return _tokens_page(request, form, status=400)
    token, key = create_token(
        user=request.user,
        name=form.cleaned_data["name"],
        expires_at=form.cleaned_data["expires_at"],
    )
    response = render(request, "core/tokens_created.html", {"token": token, "key": key})
    patch_cache_control(response, no_store=True, private=True)
    return response


@login_required
@require_POST
def api_token_revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    revoke_token(token=token)
    messages.success(request, f"The token “{token.name}” was revoked.")
    return redirect("api-tokens")
