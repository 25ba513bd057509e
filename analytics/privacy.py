"""Analytics holds no person's data (`core.privacy`): rollups and facts carry ids and counts.

Erasure never deletes a ticket (it anonymises it), so every total a report shows stays.
"""

from core import privacy


def register() -> None:
    privacy.exempt(
        [
            "analytics.DailyRollup",
            "analytics.DailySlice",
            "analytics.TicketFact",
            "analytics.Watermark",
            "analytics.AlertSent",
        ],
        "counts, sums and ids per day and dimension: totals kept after erasure",
    )
