"""Sign-ins, sign-outs, failed sign-ins and role changes as `AccountEvent`s, and the chain's
re-seal of audit rows that erasure anonymised."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed

from core import audit, privacy
from core.clients import client_address
from core.models import User

from .models import AccountEvent


def _client(request) -> dict:
    return {"client": client_address(request)} if request is not None else {}


def on_signed_in(sender, request, user, **kwargs):
    audit.record(AccountEvent, kind="signed_in", actor=user, user=user, metadata=_client(request))


def on_signed_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record(
            AccountEvent, kind="signed_out", actor=user, user=user, metadata=_client(request)
        )


def on_sign_in_failed(sender, credentials, request=None, **kwargs):
    # The account, if the address names one; the address itself is never stored.
    address = (credentials or {}).get("username") or (credentials or {}).get("email") or ""
    user = User.objects.with_email(address).first() if address else None
    audit.record(AccountEvent, kind="sign_in_failed", user=user, metadata=_client(request))


def on_roles_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear") or reverse:
        return
    names = sorted(model.objects.filter(pk__in=pk_set or []).values_list("name", flat=True))
    verb = {"post_add": "added", "post_remove": "removed", "post_clear": "cleared"}[action]
    audit.record(AccountEvent, kind="roles_changed", user=instance, after={verb: names})


def reseal_scrubbed(model, pks):
    from . import chain

    chain.reseal(list(model._base_manager.filter(pk__in=pks)), reason="erasure")


def retire_removed(model, pks):
    from . import chain

    chain.retire(model, pks, reason="deleted with what it belongs to")


def connect() -> None:
    user_logged_in.connect(on_signed_in, dispatch_uid="privacy.signed_in")
    user_logged_out.connect(on_signed_out, dispatch_uid="privacy.signed_out")
    user_login_failed.connect(on_sign_in_failed, dispatch_uid="privacy.sign_in_failed")
    m2m_changed.connect(
        on_roles_changed, sender=User.groups.through, dispatch_uid="privacy.roles_changed"
    )
    privacy.on_audit_scrubbed(reseal_scrubbed)
    privacy.on_audit_removed(retire_removed)
