import pytest

from core.models import Organization
from core.paging import page_of


@pytest.mark.parametrize("asked", [None, "", "0", "-3", "two", "1"])
def test_anything_but_a_positive_number_is_the_first_page(db, asked):
    Organization.objects.bulk_create(Organization(name=f"O{n}", slug=f"o{n}") for n in range(3))
    page = page_of(Organization.objects.order_by("slug"), asked, 2)
    assert page.number == 1 and [o.slug for o in page] == ["o0", "o1"]
    assert page.has_next and not page.has_previous and page.next_page_number == 2


def test_the_last_page_knows_it_is_the_last(db, django_assert_num_queries):
    Organization.objects.bulk_create(Organization(name=f"O{n}", slug=f"o{n}") for n in range(4))
    with django_assert_num_queries(1):  # one query, no COUNT
        page = page_of(Organization.objects.order_by("slug"), "2", 2)
    assert [o.slug for o in page] == ["o2", "o3"] and not page.has_next
    assert page.has_previous and page.previous_page_number == 1 and page.has_other_pages
    assert len(page_of(Organization.objects.order_by("slug"), "5", 2)) == 0


def test_absurd_page_numbers_are_empty_pages_not_errors(db, django_assert_num_queries):
    Organization.objects.create(name="O", slug="o")
    with django_assert_num_queries(0):
        page = page_of(Organization.objects.all(), "1" + "0" * 20, 2)
    assert len(page) == 0 and not page.has_next and page.has_previous
