"""Inbound e-mail: mails sent to support become tickets or replies (issue 12).

`parse` reads a MIME message into what support needs, `trim` cuts quoted history and signatures
from the shown body, `loops` recognises auto-replies, bounces and mail loops, and `services`
(`receive`) decides and writes, through `support.services.create_ticket` / `add_message`.
The ESP's webhook (anymail's `inbound` signal, connected in `support.apps`) and the
`ingest_email` management command both call `receive`.
"""
