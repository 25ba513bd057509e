"""The search vectors' statistics reach far enough down that a word no row has is estimated as
rare, so the planner asks the GIN index instead of walking every row in prior order
(`core.search.postgres.STATISTICS_TARGET`, knowledge 0006, support 0026)."""

import pytest
from django.db import connection

from core.search import postgres

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("table", ["knowledge_article", "support_ticket"])
def test_the_search_vector_keeps_the_larger_statistics_target(table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstattarget FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attname = 'search_document'",
            [table],
        )
        assert cursor.fetchone()[0] == postgres.STATISTICS_TARGET == 1000


def test_the_statements_set_and_analyze_only_that_column():
    assert postgres.statistics_sql("knowledge_article", "search_document") == [
        'ALTER TABLE "knowledge_article" ALTER COLUMN "search_document" SET STATISTICS 1000',
        'ANALYZE "knowledge_article" ("search_document")',
    ]
