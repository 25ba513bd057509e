from django.contrib.auth import views as auth_views
from django.urls import path

from . import account_views, email_views, views
from .webhooks import views as webhook_views

urlpatterns = [
    path("", views.home, name="home"),
    path("desk/webhooks/", webhook_views.webhooks_page, name="desk-webhooks"),
    path("desk/webhooks/<int:pk>/", webhook_views.webhook_detail, name="desk-webhook"),
    path(
        "desk/webhooks/<int:pk>/action/", webhook_views.webhook_action, name="desk-webhook-action"
    ),
    path("accounts/login/", account_views.SignInView.as_view(), name="login"),
    path("accounts/signup/", account_views.sign_up, name="signup"),
    path("accounts/signup/sent/", account_views.sign_up_sent, name="signup-sent"),
    path(
        "accounts/signup/confirm/<str:token>/",
        account_views.sign_up_confirm,
        name="signup-confirm",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password-reset/",
        account_views.LimitedPasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("account/preferences/", views.preferences, name="preferences"),
    path("account/api-tokens/", account_views.api_tokens, name="api-tokens"),
    path(
        "account/api-tokens/<int:pk>/revoke/",
        account_views.api_token_revoke,
        name="api-token-revoke",
    ),
    path(
        "account/email/confirm-again/",
        email_views.request_email_confirmation,
        name="email-confirm-request",
    ),
    path("email/confirm/<str:token>/", email_views.confirm_email, name="email-confirm"),
    path("email/unsubscribe/<str:token>/", email_views.unsubscribe, name="email-unsubscribe"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read/", views.notifications_mark_read, name="notifications-read"),
]
