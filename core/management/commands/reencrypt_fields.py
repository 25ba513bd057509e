"""`manage.py reencrypt_fields`: every encrypted field of every row under the first key of
FIELD_ENCRYPTION_KEYS (after a new key was put first), in batches; plain values left from before
a field was encrypted are encrypted too. Then the old key can be dropped."""

from django.core.management.base import BaseCommand
from django.db import transaction

from core import crypto

BATCH = 500


def reencrypt(batch: int = BATCH) -> dict[str, int]:
    """Every encrypted column under the first key, `batch` rows a statement (one UPDATE ... CASE
    per batch and field); a keyed hash kept beside the column is rewritten with it (the same
    value, unless the row was written in plain by SQL that computed none)."""
    done = {}
    for model, field in crypto.encrypted_fields():
        label = f"{model._meta.label}.{field.name}"
        hashes = [
            f
            for f in model._meta.concrete_fields
            if isinstance(f, crypto.KeyedHashField) and f.source == field.name
        ]
        done[label] = 0
        last = 0
        while True:
            # Read decrypted (with any key of the list), written under the first key.
            rows = list(
                model._base_manager.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", field.attname)[:batch]
            )
            if not rows:
                break
            changed = []
            for pk, value in rows:
                if value:
                    row = model(pk=pk, **{field.attname: crypto.encrypt(value)})
                    for digest in hashes:
                        setattr(row, digest.attname, crypto.keyed_hash(value))
                    changed.append(row)
            with transaction.atomic():
                model._base_manager.bulk_update(
                    changed, [field.name, *(h.name for h in hashes)], batch_size=batch
                )
            done[label] += len(changed)
            last = rows[-1][0]
    return done


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the first key of FIELD_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        for label, count in reencrypt().items():
            self.stdout.write(f"{label}: {count} rows re-encrypted")
