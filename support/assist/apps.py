from django.apps import AppConfig


class AssistConfig(AppConfig):
    name = "support.assist"
    label = "assist"
    verbose_name = "AI assist"

    def ready(self):
        from core.roles import Role, register_role_permissions

        register_role_permissions(Role.SUPPORT_LEAD, LEAD_PERMISSIONS)


LEAD_PERMISSIONS = {
    "assist.view_aiinteraction",
    "assist.view_modelartifact",
}
