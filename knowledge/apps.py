"""The knowledge base domain: articles, search and feedback (DESIGN §5)."""

from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = "Knowledge base"

    def ready(self):
        from . import privacy  # what it holds about a person (core.privacy)

        privacy.register()
        from core.demo import register_seeder
        from core.roles import Role, register_role_permissions

        from . import demo, search  # noqa: F401  (search registers the article document)

        register_role_permissions(Role.AGENT, AGENT_PERMISSIONS)
        register_role_permissions(Role.SUPPORT_LEAD, AGENT_PERMISSIONS | LEAD_PERMISSIONS)
        register_seeder(40, "knowledge base articles", demo.seed_articles)


AGENT_PERMISSIONS = {
    "knowledge.view_article",
    "knowledge.add_article",
    "knowledge.change_article",
    "knowledge.view_articlerevision",
    "knowledge.view_feedback",
    "knowledge.view_unansweredsearch",
}
LEAD_PERMISSIONS = {"knowledge.view_articleevent"}
