"""From a MIME message to what support needs: who, to whom, threading ids, body, files.

Works on any `email.message.Message`: anymail's `AnymailInboundMessage` (already parsed with the
modern `email.policy.default`), or bytes read from an `.eml` file or an mbox archive. Headers
come back decoded (RFC 2047 words, RFC 2231 file names); bodies are decoded by their declared
charset, with the fallbacks real mail needs (ISO-8859-1 that is really Windows-1252, unknown
charset names, undeclared 8-bit text).
"""

import email
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.policy import EmailPolicy
from email.utils import getaddresses

from django.core.files.uploadedfile import SimpleUploadedFile

from core.sanitize import html_to_text, sanitize_html

# Headers that may carry the address the mail was really delivered to (a Bcc, an alias).
RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "X-Forwarded-To", "Envelope-To")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# Labels that would otherwise be lost with the <img> the sanitiser drops.
_CID_IMAGE = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']?cid:([^\"'\s>]+)[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class InboundFile:
    """A file that came with the mail: an attachment or an inline (cid:) image."""

    name: str
    content_type: str
    data: bytes
    content_id: str = ""
    inline: bool = False

    def as_upload(self) -> SimpleUploadedFile:
        # The declared type is passed along but never trusted: validate_upload sniffs content.
        return SimpleUploadedFile(self.name, self.data, content_type=self.content_type)


@dataclass
class ParsedEmail:
    message_id: str
    sender: str  # lower case; "" when the From header has no usable address
    sender_name: str
    subject: str
    # Every header that may carry ours, then the envelope; as written: a signed reply address
    # is case-sensitive.
    recipients: list[str]
    in_reply_to: list[str]
    references: list[str]
    text: str  # the whole plain-text body (the HTML's text when the mail has no text part)
    html: str  # the whole HTML body, sanitised ("" for a text-only mail)
    raw_html: str  # the same before sanitising: where mailers mark quotes (never rendered)
    files: list[InboundFile] = field(default_factory=list)
    message: Message | None = None  # for the loop checks, which read raw headers

    def header(self, name: str) -> str:
        value = self.message.get(name) if self.message is not None else None
        return str(value).strip() if value is not None else ""


def message_from_bytes(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def message_bytes(message: Message) -> bytes:
    """The message as bytes, as close to what arrived as the parser allows."""
    try:
        return message.as_bytes(policy=message.policy.clone(linesep="\r\n", max_line_length=0))
    except (UnicodeError, LookupError, ValueError, TypeError):
        return message.as_string().encode("utf-8", "replace")


def parse_email(message: Message, *, envelope_recipients=()) -> ParsedEmail:
    """Read `message` (parsed with any policy) into a `ParsedEmail`."""
    if not isinstance(getattr(message, "policy", None), EmailPolicy):
        # compat32 (mailbox, email.message_from_string): headers would stay RFC 2047-encoded.
        message = message_from_bytes(message_bytes(message))
    sender_name, sender = _first_address(message, "From")
    if not sender:
        sender_name, sender = _first_address(message, "Sender")
    recipients = []
    for name in RECIPIENT_HEADERS:
        recipients += [address for _, address in _addresses(message, name, lower=False)]
    recipients += [address.strip() for address in envelope_recipients if address]
    text_part, html_part = _body_parts(message)
    text = _decoded_text(text_part) if text_part is not None else ""
    html = _decoded_text(html_part) if html_part is not None else ""
    files = _files(message, skip={id(text_part), id(html_part)})
    raw_html = _label_cid_images(html, files) if html else ""
    html = sanitize_html(raw_html)
    if not text and html:
        text = html_to_text(html)
    return ParsedEmail(
        message_id=next(iter(_message_ids(_header(message, "Message-ID"))), ""),
        sender=sender,
        sender_name=sender_name,
        subject=" ".join(_header(message, "Subject").split()),
        recipients=list(dict.fromkeys(recipients)),
        in_reply_to=_message_ids(_header(message, "In-Reply-To")),
        references=_message_ids(_header(message, "References")),
        text=text.replace("\r\n", "\n").strip(),
        html=html,
        raw_html=raw_html,
        files=files,
        message=message,
    )


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, TypeError, LookupError):  # a header the policy cannot even decode
        return ""
    return str(value) if value is not None else ""


def _all_headers(message: Message, name: str) -> list[str]:
    try:
        return [str(value) for value in message.get_all(name) or []]
    except (ValueError, TypeError, LookupError):
        return []


def _addresses(message: Message, name: str, *, lower=True) -> list[tuple[str, str]]:
    pairs = getaddresses(_all_headers(message, name))
    return [
        (display.strip(), address.strip().lower() if lower else address.strip())
        for display, address in pairs
        if "@" in address
    ]


def _first_address(message: Message, name: str) -> tuple[str, str]:
    pairs = _addresses(message, name)
    return pairs[0] if pairs else ("", "")


def _message_ids(value: str) -> list[str]:
    return list(dict.fromkeys(_MESSAGE_ID.findall(value)))


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    return disposition == "attachment" or bool(part.get_filename())


def _body_parts(message: Message) -> tuple[Message | None, Message | None]:
    """The plain-text and HTML bodies: the first of each that is not an attachment, looking
    inside multipart/alternative, related and mixed but not into attached (forwarded) mails."""
    text = html = None
    for part in _leaves(message):
        if _is_attachment(part):
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain" and text is None:
            text = part
        elif content_type == "text/html" and html is None:
            html = part
    return text, html


def _leaves(message: Message):
    if message.is_multipart() and message.get_content_maintype() == "multipart":
        for part in message.get_payload():
            yield from _leaves(part)
    else:
        yield message


# What to try for a declared charset. Latin-1 labels usually mean Windows-1252 in practice (the
# bytes 0x80-0x9F, curly quotes and the euro sign, are control characters in real ISO-8859-1);
# 8-bit bytes in a part declared ASCII (or undeclared) are most often UTF-8.
_LATIN_1 = ("cp1252", "iso-8859-1")
_CHARSET_CANDIDATES = {
    "iso-8859-1": _LATIN_1,
    "latin1": _LATIN_1,
    "latin-1": _LATIN_1,
    "us-ascii": ("utf-8", "cp1252"),
    "": ("utf-8", "cp1252"),
}


def _decoded_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = b""
    if isinstance(payload, str):  # pragma: no cover - decode=True gives bytes for leaf parts
        return payload
    declared = (part.get_content_charset() or "").lower()
    for charset in (*_CHARSET_CANDIDATES.get(declared, (declared,)), "utf-8"):
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("cp1252", "replace")


def _files(message: Message, *, skip: set[int]) -> list[InboundFile]:
    files, unnamed = [], 0
    for part in _attachment_parts(message):
        if id(part) in skip:
            continue
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            data = message_bytes(inner) if isinstance(inner, Message) else b""
        else:
            data = part.get_payload(decode=True) or b""
        if not data:
            continue
        content_id = _header(part, "Content-ID").strip().strip("<>")
        inline = (part.get_content_disposition() or "inline").lower() == "inline"
        name = part.get_filename() or ""
        if not name:
            unnamed += 1
            name = "forwarded.eml" if content_type == "message/rfc822" else f"inline-{unnamed}"
        files.append(
            InboundFile(
                name=name,
                content_type=content_type,
                data=data,
                content_id=content_id,
                inline=inline and bool(content_id),
            )
        )
    return files


def _attachment_parts(message: Message):
    """Every leaf that is a file: attachments, inline images, and attached mails as a whole
    (whose own parts are not walked: they belong to the forwarded mail)."""
    if message.is_multipart():
        for part in message.get_payload():
            if part.get_content_type() == "message/rfc822":
                yield part
            else:
                yield from _attachment_parts(part)
        return
    if _is_attachment(message) or message.get_content_maintype() not in ("text", "multipart"):
        yield message


def _label_cid_images(html: str, files: list[InboundFile]) -> str:
    """`<img src="cid:...">` becomes "[image: name]": the sanitiser drops images, and the
    picture itself is kept as an attachment of the message."""
    names = {file.content_id: file.name for file in files if file.content_id}

    def label(match):
        name = names.get(match.group(1))
        return f"[image: {name}]" if name else ""

    return _CID_IMAGE.sub(label, html)
