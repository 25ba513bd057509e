from core.roles import Role
from knowledge import services
from knowledge.models import Category, Status
from knowledge.permissions import can_publish
from tests.factories import UserFactory


def make_article(*, by, title="Reset your password", status=Status.PUBLISHED, **fields):
    """An article made as authors make them: through the services (rendered, revised, audited);
    published by `by` if they may, else by a support lead."""
    fields.setdefault("category", Category.HOW_TO)
    fields.setdefault("content", f"How to {title.lower()}.")
    article = services.create_article(by=by, title=title, **fields)
    if status == Status.DRAFT:
        return article
    if status == Status.IN_REVIEW:
        return services.change_status(article=article, by=by, to=status)
    editor = by if can_publish(by) else UserFactory(roles=[Role.SUPPORT_LEAD])
    article = services.change_status(article=article, by=editor, to=Status.PUBLISHED)
    if status == Status.ARCHIVED:
        article = services.change_status(article=article, by=editor, to=Status.ARCHIVED)
    return article
