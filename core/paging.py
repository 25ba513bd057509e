"""Numbered pages without a total: no COUNT(*) over a large filtered table.

A page fetches one row more than it shows, to know whether a next page exists. Used by the API's
`UncountedPageNumberPagination` and by server-rendered lists (the desk queue).
"""

from dataclasses import dataclass


@dataclass
class Page:
    number: int
    object_list: list
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)


# Pages past this are empty without asking the database: an OFFSET beyond it would be a scan of
# millions of rows, and a page number beyond a 64-bit OFFSET an error.
MAX_PAGE = 10_000


def page_number(value) -> int:
    """The requested page; anything that is not a positive number is the first page."""
    try:
        return max(1, int(value))
    except (TypeError, ValueError, OverflowError):
        return 1


def page_of(queryset, number, size: int) -> Page:
    number = page_number(number)
    if number > MAX_PAGE:
        return Page(number=number, object_list=[], has_next=False)
    offset = (number - 1) * size
    rows = list(queryset[offset : offset + size + 1])
    return Page(number=number, object_list=rows[:size], has_next=len(rows) > size)
