from django.apps import AppConfig


class AssistConfig(AppConfig):
    # The label sorts after "support" on purpose: Django plans migrations leaf by leaf in label
    # order, and an earlier label pulled support's search triggers ahead of core's rebuild of
    # the user table on SQLite (`migrate` failed on a fresh embedded database).
    name = "support.assist"
    label = "support_assist"
    verbose_name = "AI assist"

    def ready(self):
        from django.db.models.signals import post_save

        from core.demo import register_seeder
        from core.roles import Role, register_role_permissions
        from support.models import TicketMessage

        from . import builtin_tools, demo, privacy

        privacy.register()  # what it holds about a person (core.privacy)

        register_role_permissions(Role.SUPPORT_LEAD, LEAD_PERMISSIONS)
        builtin_tools.register()
        post_save.connect(_message_saved, sender=TicketMessage, dispatch_uid="assist-drafts-sent")
        register_seeder(65, "AI assist: finished tickets of past months", demo.seed_history)
        register_seeder(95, "AI assist: classifiers trained and gated", demo.train_models)
        register_seeder(96, "AI assist: article passages embedded", demo.embed_articles)


def _message_saved(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        from .drafts import record_sent

        record_sent(instance)  # an agent's message settles the drafts in their composer


LEAD_PERMISSIONS = {
    "support_assist.view_aiinteraction",
    "support_assist.view_modelartifact",
}
