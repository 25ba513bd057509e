"""Handlers of the privacy app's scheduled work (`core.scheduling`), and its own registry part."""

from .services import erase_own_requests, run_erasure

__all__ = ["erase_own_requests", "run_due_erasure", "run_retention_batch"]


def run_due_erasure(row) -> None:
    """An erasure's grace period has ended: erase, in the row's own transaction."""
    run_erasure(row.request)


def run_retention_batch(row) -> None:
    from . import retention

    retention.run_batch(row)
