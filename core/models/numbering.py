from django.db import models


class NumberCounter(models.Model):
    """The last number handed out for one scope (e.g. `TKT-20261125`).

    Incremented with a single upsert inside the creating transaction, so two concurrent creators
    are serialised on this row and can never receive the same number.
    """

    scope = models.CharField(max_length=64, primary_key=True)
    last_value = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.scope}: {self.last_value}"
