"""The Knowledge base domain: articles, search and feedback.

See DESIGN.md. Its models arrive with its own issue.
"""

from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = "Knowledge base"
