"""What the knowledge base holds about a person (`core.privacy`): their article feedback.

Erasure keeps each vote and rating (the article's totals are recounted from them) and clears the
comment. Articles and revisions are staff work and keep their author's (anonymised) account.
"""

from core import privacy

from .models import Feedback


def export(subject: privacy.Subject, archive: privacy.Archive) -> None:
    if not subject.user_id:
        return
    archive.add(
        "article_feedback",
        [
            {
                "article": f.article.number,
                "title": f.article.title,
                "rating": f.rating,
                "helpful": f.helpful,
                "comment": f.comment,
                "created_at": f.created_at.isoformat(),
            }
            for f in Feedback.objects.filter(user_id=subject.user_id).select_related("article")
        ],
    )


def erase(subject: privacy.Subject, holds: privacy.Holds) -> dict[str, int]:
    if not subject.user_id:
        return {}
    return {"feedback": Feedback.objects.filter(user_id=subject.user_id).update(comment="")}


def register() -> None:
    privacy.register(
        privacy.Part(name="knowledge", models=("knowledge.Feedback",), export=export, erase=erase)
    )
    privacy.exempt(
        [
            "knowledge.Tag",
            "knowledge.Article",
            "knowledge.ArticleRevision",
            "knowledge.ArticleEvent",
            "knowledge.UnansweredSearch",
            "knowledge.SuggestionOpened",
        ],
        "published staff work, anonymous search words and hashed sessions",
    )
