"""Privacy and compliance (issue 22): subject access exports, erasure, legal holds, retention.

Stands above every domain and works them only through the registry in `core.privacy`, which
each app fills from its own `privacy.py`.
"""

from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy"

    def ready(self):
        from core import privacy, scheduling

        from . import models, retention, signals, work  # retention registers its own kind

        signals.connect()
        retention.register_audit_kinds()

        scheduling.register(models.ErasureWork, work.run_due_erasure, max_attempts=3)
        scheduling.register(models.RetentionWork, work.run_retention_batch, max_attempts=3)
        privacy.register(
            privacy.Part(
                name="privacy",
                models=("privacy.PrivacyRequest", "privacy.PrivacyEvent", "privacy.AccountEvent"),
                export=None,
                erase=work.erase_own_requests,
                order=900,
            )
        )
        privacy.exempt(
            ["privacy.LegalHold", "privacy.RetentionPolicy"],
            "names an organisation, a ticket or a policy; no person's data",
        )
        privacy.exempt(
            ["privacy.ErasureWork", "privacy.RetentionWork"], "scheduled work: ids and times only"
        )
        privacy.exempt("privacy.AuditSeal", "hashes of audit rows: no content")
