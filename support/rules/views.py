"""The desk's rules editor (support leads): list in order, edit as forms, dry run, history."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import DomainError

from ..models.rules import Rule, RuleKind
from ..permissions import can_edit_rules
from . import services
from .actions import TYPES
from .dry_run import dry_run, unsaved_rule
from .forms import RuleForm, definition_from_post, editor_rows


def _leads_only(request):
    if not can_edit_rules(request.user):
        return render(request, "desk/not_staff.html", status=403)
    return None


def _rule_or_404(pk: int) -> Rule:
    rule = Rule.objects.live().select_related("author").filter(pk=pk).first()
    if rule is None:
        raise Http404("No such rule.")
    return rule


@login_required
def rules_list(request):
    """Triggers and automations in the order they run, with arrows and on/off switches."""
    refused = _leads_only(request)
    if refused:
        return refused
    rules = list(Rule.objects.live().in_order().select_related("author"))
    return render(
        request,
        "desk/rules/list.html",
        {
            "triggers": [r for r in rules if r.kind == RuleKind.TRIGGER],
            "automations": [r for r in rules if r.kind == RuleKind.AUTOMATION],
        },
    )


def _editor(request, *, kind, rule=None, form=None, data=None, preview=None, status=200):
    source = data or (
        {"conditions": rule.conditions, "actions": rule.actions}
        if rule
        else {"conditions": [], "actions": []}
    )
    if form is None:
        initial = (
            {
                "name": rule.name,
                "description": rule.description,
                "match": rule.match,
                "events": rule.events,
                "stop_processing": rule.stop_processing,
                "anchor": rule.anchor,
                "after_minutes": rule.after_minutes,
            }
            if rule
            else {"events": ["created"] if kind == RuleKind.TRIGGER else []}
        )
        form = RuleForm(initial=initial)
    history = (
        list(rule.history.select_related("actor").order_by("-created_at", "-pk")[:50])
        if rule
        else []
    )
    context = {
        "kind": kind,
        "rule": rule,
        "form": form,
        "preview": preview,
        "history": history,
        "enabled": (data or {}).get("enabled", rule.enabled if rule else False),
        **editor_rows(source.get("conditions", []), source.get("actions", []), user=request.user),
    }
    return render(request, "desk/rules/edit.html", context, status=status)


def _labelled(preview: dict) -> dict:
    """The dry run's effects named as the editor names them ("Set priority", not set_priority)."""
    for row in preview.get("tickets", []):
        for effect in row["effects"]:
            effect["label"] = TYPES.get(effect["type"], effect["type"])
    return preview


def _save_or_preview(request, *, kind, rule=None):
    form, data = definition_from_post(request.POST, kind=kind)
    if data is None:
        return _editor(request, kind=kind, rule=rule, form=form, status=400)
    try:
        if "dry_run" in request.POST:
            candidate = unsaved_rule(kind=kind, data=data, by=request.user)
            return _editor(
                request,
                kind=kind,
                rule=rule,
                form=form,
                data=data,
                preview=_labelled(dry_run(candidate, by=request.user)),
            )
        if rule is None:
            rule = services.create_rule(by=request.user, kind=kind, data=data)
        else:
            rule = services.update_rule(rule=rule, by=request.user, data=data)
    except DomainError as exc:
        details = [f"{', '.join(v)}" for v in (exc.errors or {}).values()]
        messages.error(request, " ".join([exc.message, *details]))
        return _editor(request, kind=kind, rule=rule, form=form, data=data, status=400)
    messages.success(request, f"Saved “{rule.name}” (version {rule.version}).")
    return redirect("desk-rule", pk=rule.pk)


@login_required
def rule_new(request, kind: str):
    refused = _leads_only(request)
    if refused:
        return refused
    if kind not in RuleKind.values:
        raise Http404("No such kind of rule.")
    if request.method == "POST":
        return _save_or_preview(request, kind=kind)
    return _editor(request, kind=kind)


@login_required
def rule_edit(request, pk: int):
    refused = _leads_only(request)
    if refused:
        return refused
    rule = _rule_or_404(pk)
    if request.method == "POST":
        return _save_or_preview(request, kind=rule.kind, rule=rule)
    return _editor(request, kind=rule.kind, rule=rule)


@login_required
@require_POST
def rule_action(request, pk: int):
    """Enable, disable, move up or down, or archive; back to where the button was."""
    refused = _leads_only(request)
    if refused:
        return refused
    rule = _rule_or_404(pk)
    op = request.POST.get("op", "")
    try:
        if op in ("enable", "disable"):
            services.set_enabled(rule=rule, by=request.user, enabled=op == "enable")
            messages.success(request, f"“{rule.name}” {op}d.")
        elif op in ("up", "down"):
            services.move_rule(rule=rule, by=request.user, direction=op)
        elif op == "archive":
            services.archive_rule(rule=rule, by=request.user)
            messages.success(request, f"“{rule.name}” archived.")
            return redirect("desk-rules")
        else:
            messages.error(request, "Unknown action.")
    except DomainError as exc:
        messages.error(request, exc.message)
    back = request.POST.get("next", "")
    return redirect(back if back == reverse("desk-rule", args=[rule.pk]) else reverse("desk-rules"))
