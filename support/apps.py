from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = "Support"

    def ready(self):
        from . import privacy  # what it holds about a person (core.privacy)
        from .chat import privacy as chat_privacy

        privacy.register()
        chat_privacy.register()
        from anymail.signals import inbound

        from core import scheduling
        from core.demo import register_seeder
        from core.roles import Role, register_role_permissions
        from core.signals import password_in_use

        from . import demo, webhooks
        from .inbound.services import on_anymail_inbound
        from .models import TriggerRun
        from .rules import engine

        # Mail the ESP posts to /anymail/<esp>/inbound/ (authenticated by anymail) becomes
        # tickets and replies.
        inbound.connect(on_anymail_inbound, dispatch_uid="support.inbound-email")

        password_in_use.connect(_revoke_access_links, dispatch_uid="support.revoke_access_links")

        register_role_permissions(Role.AGENT, AGENT_PERMISSIONS)
        register_role_permissions(Role.SUPPORT_LEAD, AGENT_PERMISSIONS | LEAD_PERMISSIONS)
        register_seeder(50, "support catalogue, teams and SLA defaults", demo.seed_catalogue)
        register_seeder(60, "support tickets", demo.seed_tickets)

        # Triggers run after the commit of the change that fired them, once (core.scheduling).
        scheduling.register(TriggerRun, engine.handle_run, batch_size=100, max_attempts=3)
        webhooks.register()

        from .chat import services as chat_services
        from .models import ChatArchive

        # Inactive chats become tickets once each (support.chat.tasks schedules the rows).
        scheduling.register(ChatArchive, chat_services.run_archive, batch_size=50, max_attempts=5)


def _revoke_access_links(sender, user, **kwargs):
    from .services import access

    access.address_has_account(user)


AGENT_PERMISSIONS = {
    "support.view_ticket",
    "support.change_ticket",
    "support.add_ticket",
    "support.view_ticketmessage",
    "support.add_ticketmessage",
    "support.view_category",
    "support.view_team",
    "support.view_responsetemplate",
    "support.view_slapolicy",
    "support.view_tag",
    "support.add_tag",
    "support.view_agentprofile",
    "support.change_agentprofile",
    "support.view_ticketevent",
    # The inbound mail log (admin, read-only; agents see the records of tickets they see).
    "support.view_inboundemail",
}
LEAD_PERMISSIONS = {
    # The audit trail of the agents' profiles (under each profile in the admin).
    "support.view_agentprofileevent",
    "support.add_responsetemplate",
    "support.change_responsetemplate",
    "support.delete_responsetemplate",
    "support.add_category",
    "support.change_category",
    "support.add_team",
    "support.change_team",
    "support.add_slapolicy",
    "support.change_slapolicy",
    "support.delete_slapolicy",
    "support.view_escalationpolicy",
    "support.add_escalationpolicy",
    "support.change_escalationpolicy",
    "support.view_escalationlevel",
    "support.add_escalationlevel",
    "support.change_escalationlevel",
    "support.delete_escalationlevel",
    # Live chat's widgets (where they may be embedded, their team, hours, limits, the bot).
    "support.view_chatwidget",
    "support.add_chatwidget",
    "support.change_chatwidget",
}
