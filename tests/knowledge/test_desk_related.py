"""Related articles on the desk's editor: ticked boxes, a search picker (htmx), typed numbers."""

import pytest

from knowledge import services
from knowledge.models import Article, ArticleEvent, Status

from .factories import make_article

pytestmark = pytest.mark.django_db


def form_data(article, **changes) -> dict:
    data = {
        "title": article.title,
        "category": article.category,
        "content": article.content,
        "tags": "",
        "keywords": article.keywords,
    }
    return {**data, **changes}


def related_numbers(article) -> list[str]:
    return sorted(Article.objects.get(pk=article.pk).related.values_list("number", flat=True))


@pytest.fixture
def three(lead):
    return (
        make_article(by=lead, title="Reset your password"),
        make_article(by=lead, title="Password rules"),
        make_article(by=lead, title="Escalation runbook", is_internal=True),
    )


def test_the_form_shows_the_current_related_articles_ticked(client, agent, lead, three):
    main, rules, runbook = three
    services.set_related(article=main, by=lead, related=[rules, runbook])
    client.force_login(agent)
    page = client.get(f"/desk/kb/{main.number}/").content.decode()
    assert f'name="related" value="{rules.number}" checked' in page
    assert f'name="related" value="{runbook.number}" checked' in page
    assert 'hx-get="/desk/kb/related-options/"' in page  # the picker
    assert 'name="add_related"' in page  # and numbers, without script
    assert "<script>" not in page and "style=" not in page  # CSP: no inline script or style


def test_ticking_and_typing_numbers_sets_them_and_is_audited(client, agent, lead, three):
    main, rules, runbook = three
    client.force_login(agent)
    response = client.post(
        f"/desk/kb/{main.number}/",
        form_data(main, related=[rules.number], add_related=runbook.number.lower()),
    )
    assert response.status_code == 302
    assert related_numbers(main) == sorted([rules.number, runbook.number])
    assert related_numbers(rules) == [main.number]  # symmetrical
    event = ArticleEvent.objects.filter(article=main).order_by("-pk").first()
    assert event.kind == ArticleEvent.Kind.UPDATED and event.actor == agent
    assert event.before == {"related": []}
    assert event.after == {"related": sorted([rules.number, runbook.number])}


def test_unticking_removes_one_and_unchanged_writes_no_event(client, agent, lead, three):
    main, rules, runbook = three
    services.set_related(article=main, by=lead, related=[rules, runbook])
    client.force_login(agent)
    client.post(f"/desk/kb/{main.number}/", form_data(main, related=[runbook.number]))
    assert related_numbers(main) == [runbook.number]
    events = ArticleEvent.objects.filter(article=main).count()
    client.post(f"/desk/kb/{main.number}/", form_data(main, related=[runbook.number]))
    assert ArticleEvent.objects.filter(article=main).count() == events


def test_unknown_numbers_are_a_form_error_and_change_nothing(client, agent, lead, three):
    main, rules, _ = three
    client.force_login(agent)
    for data in (
        form_data(main, title="Renamed", related=[rules.number, "KB-99999"]),
        form_data(main, title="Renamed", related=[rules.number], add_related="KB-99998, nonsense"),
    ):
        response = client.post(f"/desk/kb/{main.number}/", data)
        assert response.status_code == 200
        page = response.content.decode()
        assert "No article KB-9999" in page
        assert f'value="{rules.number}" checked' in page  # what was ticked stays ticked
    assert related_numbers(main) == [] and Article.objects.get(pk=main.pk).title == main.title


def test_the_article_itself_is_refused_and_nothing_is_saved(client, agent, lead, three):
    main, rules, _ = three
    client.force_login(agent)
    response = client.post(
        f"/desk/kb/{main.number}/",
        form_data(main, title="Renamed", related=[rules.number, main.number]),
    )
    assert response.status_code == 200
    assert "cannot be related to itself" in response.content.decode()
    assert related_numbers(main) == [] and Article.objects.get(pk=main.pk).title == main.title


def test_the_service_refuses_the_article_itself(lead, three):
    from core.errors import DomainError

    main, rules, _ = three
    with pytest.raises(DomainError):
        services.set_related(article=main, by=lead, related=[rules, main])
    assert related_numbers(main) == []


def test_a_new_article_gets_its_related_articles(client, agent, three):
    _, rules, _ = three
    client.force_login(agent)
    client.post(
        "/desk/kb/new/",
        {"title": "Two-factor sign-in", "category": "how_to", "related": [rules.number]},
    )
    made = Article.objects.get(title="Two-factor sign-in")
    assert related_numbers(made) == [rules.number]


def test_internal_related_articles_stay_hidden_from_customers(client, agent, lead, three):
    main, rules, runbook = three
    client.force_login(agent)
    client.post(f"/desk/kb/{main.number}/", form_data(main, related=[rules.number, runbook.number]))
    client.logout()
    page = client.get(f"/help/kb/{main.slug}/").content.decode()
    assert "Password rules" in page and "Escalation runbook" not in page


def test_the_picker_finds_by_word_and_number_never_itself_nor_current_ones(
    client, agent, lead, three
):
    main, rules, runbook = three
    other = make_article(by=lead, title="Password history", status=Status.DRAFT)
    services.set_related(article=main, by=lead, related=[rules])
    client.force_login(agent)
    url = "/desk/kb/related-options/"
    found = client.get(url, {"q": "passw", "article": main.number}).content.decode()
    assert f'value="{other.number}"' in found and "Draft" in found  # staff see drafts
    assert f'value="{main.number}"' not in found  # itself
    assert f'value="{rules.number}"' not in found  # already related
    by_number = client.get(url, {"q": runbook.number.lower(), "article": main.number})
    assert f'value="{runbook.number}"' in by_number.content.decode()
    short = client.get(url, {"q": str(int(runbook.number.split("-")[1]))}).content.decode()
    assert f'value="{runbook.number}"' in short
    # What was ticked in the picker stays ticked while the author searches on.
    kept = client.get(url, {"q": "nothing-like-this", "related": [runbook.number]})
    kept = kept.content.decode()
    assert f'value="{runbook.number}" checked' in kept and "No other article matches" in kept


def test_the_picker_is_for_staff_only(client, customer, three):
    client.force_login(customer)
    assert client.get("/desk/kb/related-options/", {"q": "password"}).status_code == 403
