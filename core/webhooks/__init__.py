"""Outbound webhooks: any app's events, signed and delivered through the outbox.

- `registry`: apps declare their event names (`register_event`) and emit them (`emit`) inside
  the transaction of the change; core imports no app.
- `security`: the URL check (no loopback, private, link-local or metadata address, also after
  DNS resolution and after each redirect) and the pinned HTTP client.
- `delivery`: the outbox sender (HMAC-SHA256 signature with a timestamp, attempt log,
  disabling a subscription after repeated failure).
- `services`: subscriptions (create, change, delete, send test), `deliver_to`.
"""
