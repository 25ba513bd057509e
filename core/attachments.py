"""Attachment uploads: content validation, safe names, storage keys and download URLs.

Every uploaded file goes through `validate_upload` before it is stored. The policy:

* The type is decided by the CONTENT. The client's declared Content-Type is never read.
* Allowed are the types in `ALLOWED_TYPES`: common images (no SVG: it can carry script), PDF,
  plain text/log/CSV, forwarded e-mails (.eml), zip archives and the Office OOXML formats.
  Executables, scripts, HTML/XML, SVG and anything unrecognised are refused.
* Extension policy: a name whose extension contradicts the content is REFUSED (`type_mismatch`)
  rather than silently renamed, so a PNG called "invoice.pdf" or an "x.jpg" that is a zip is
  reported to the uploader instead of turning up under a name the sender did not choose. A
  name without an extension gets the canonical one of the detected type appended.
* Sizes are counted while reading; the client's size is only used to refuse early.

Stored files live under unguessable keys (`storage_key`). In S3 mode they are private objects
reached only through short-lived signed URLs (`download_url`); locally the caller streams them
through a permission-checked view with `FileResponse`, using `content_disposition` for the
header and `X-Content-Type-Options: nosniff` (set globally by SecurityMiddleware).

Files are stored before the rows that reference them are written, never under a row lock:
`stored_uploads` validates and stores, the caller writes its rows in a short transaction inside
the `with` block, and a failure there deletes what was stored. Whatever still escapes (a
rolled-back outer transaction, a crash between the two steps) is deleted by the periodic sweep
`core.housekeeping.sweep_orphaned_files` once it is older than ATTACHMENT_ORPHAN_GRACE_SECONDS.
"""

import hashlib
import logging
import re
import sys
import unicodedata
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import quote

import filetype
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files.base import File
from django.core.files.storage import InvalidStorageError, Storage, storages
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

#: Allowed MIME type -> allowed extensions (lower case, the first one is canonical).
ALLOWED_TYPES = MappingProxyType(
    {
        "image/png": ("png",),
        "image/jpeg": ("jpg", "jpeg"),
        "image/gif": ("gif",),
        "image/webp": ("webp",),
        "application/pdf": ("pdf",),
        "text/plain": ("txt", "log"),
        "text/csv": ("csv",),
        "message/rfc822": ("eml",),
        "application/zip": ("zip",),
        DOCX: ("docx",),
        XLSX: ("xlsx",),
        PPTX: ("pptx",),
    }
)
#: Types a browser may display in place; everything else is served as a download.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})

# Text formats cannot be told apart by content, so for text the extension picks the type.
TEXT_TYPES_BY_EXTENSION = MappingProxyType(
    {"txt": "text/plain", "log": "text/plain", "csv": "text/csv", "eml": "message/rfc822"}
)

MAX_NAME_LENGTH = 100
FALLBACK_NAME = "attachment"
# A longer "file name" or one with a NUL byte cannot come from a file picker; it is a forged
# multipart header and the upload is refused rather than repaired.
MAX_RAW_NAME_LENGTH = 1024

_CHUNK_BYTES = 64 * 1024
_HEAD_BYTES = 8192  # what `filetype` looks at
_MARKUP_SNIFF_BYTES = 1024
_OOXML_PARTS = {"word/": DOCX, "xl/": XLSX, "ppt/": PPTX}
_MAX_CONTENT_TYPES_XML = 1024 * 1024

# filetype reports these detections under another name for the same allowed format.
_BINARY_ALIASES = {"image/apng": "image/png"}
_BINARY_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_EXECUTABLE_MAGIC = (
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "an ELF executable"),
    (b"\xfe\xed\xfa\xce", "a Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "a Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O universal binary or Java class"),
    (b"#!", "a script"),
)
# Text is refused if it contains C0 control bytes other than TAB, LF, FF, CR and ESC (ESC for
# ANSI colours in logs). Real binary formats practically always contain such bytes in any 64 KB.
_NON_TEXT_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
# Openings that make a browser's MIME sniffer (WHATWG "HTML"/"XML" patterns) or an SVG viewer
# treat the bytes as markup; tested after a BOM and leading whitespace.
_MARKUP_START = re.compile(
    rb"<(?:!doctype|!--|\?xml|(?:html|head|body|script|iframe|style|title|svg|xml|meta|link|base"
    rb"|object|embed|img|form|math|h1|div|font|table|a|b|br|p)[\s/>])"
)
# Anywhere in the first KB of a .txt/.log/.csv: tags that only make sense in an active document.
_MARKUP_ANYWHERE = re.compile(rb"<(?:script|html|svg|iframe|!doctype\s+html)[\s/>]")
_EMAIL_HEADER = re.compile(rb"^[!-9;-~]+:")

_EXTENSION = re.compile(r"^(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{1,10}$")
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)

REJECTION_CODES = (
    "too_large",
    "empty",
    "type_not_allowed",
    "type_mismatch",
    "bad_name",
    "quota_exceeded",
)


class AttachmentRejected(ValidationError):
    """The upload was refused; `code` is one of `REJECTION_CODES`."""

    def __init__(self, message, *, code: str, params: dict | None = None):
        if code not in REJECTION_CODES:
            raise ValueError(f"unknown rejection code {code!r}")
        super().__init__(message, code=code, params=params)


@dataclass(frozen=True, slots=True)
class ValidatedUpload:
    """What is known about an upload that passed `validate_upload`."""

    original_name: str
    safe_name: str
    content_type: str
    size: int
    sha256: str


@dataclass(slots=True)
class _Scan:
    size: int
    sha256: str
    head: bytes
    is_text: bool


def validate_upload(
    uploaded_file,
    *,
    max_bytes: int | None = None,
    allowed_types: Iterable[str] | None = None,
) -> ValidatedUpload:
    """Check an uploaded file and describe it, or raise `AttachmentRejected`.

    `uploaded_file` is a seekable binary file object (a Django `UploadedFile`/`File` or any
    object with `read`/`seek` and optionally `name`/`size`). `max_bytes` defaults to
    `settings.ATTACHMENT_MAX_BYTES`; `allowed_types` narrows `ALLOWED_TYPES` (e.g. only PDF for
    a document upload) and may not widen it.

    Guarantees on return: the content is 1..max_bytes bytes as actually read, its type was
    sniffed from the bytes and is in the allowed set, `safe_name` is `safe_filename` of the
    client's name with an extension that belongs to that type, `sha256` is the hex digest of the
    whole content. The file position is back at 0 whether the file was accepted or not.
    """
    limit = settings.ATTACHMENT_MAX_BYTES if max_bytes is None else max_bytes
    permitted = _permitted_types(allowed_types)

    original_name = getattr(uploaded_file, "name", None) or ""
    if not isinstance(original_name, str):
        original_name = str(original_name)
    if len(original_name) > MAX_RAW_NAME_LENGTH or "\x00" in original_name:
        raise AttachmentRejected(_("The file name is not acceptable."), code="bad_name")

    declared_size = getattr(uploaded_file, "size", None)
    if isinstance(declared_size, int) and declared_size > limit:
        raise _too_large(limit)

    try:
        scan = _scan(uploaded_file, limit)
        if scan.size == 0:
            raise AttachmentRejected(_("The file is empty."), code="empty")
        content_type = _sniff_type(uploaded_file, scan, _extension_of(safe_filename(original_name)))
    finally:
        uploaded_file.seek(0)

    if content_type not in permitted:
        raise _not_allowed(_describe(content_type))
    return ValidatedUpload(
        original_name=original_name,
        safe_name=_name_for_type(original_name, content_type),
        content_type=content_type,
        size=scan.size,
        sha256=scan.sha256,
    )


def _permitted_types(allowed_types: Iterable[str] | None) -> frozenset[str]:
    if allowed_types is None:
        return frozenset(ALLOWED_TYPES)
    requested = frozenset(allowed_types)
    unknown = requested - ALLOWED_TYPES.keys()
    if unknown:
        # The sniffer can only ever recognise ALLOWED_TYPES; anything else is a coding mistake.
        raise ValueError(f"not in ALLOWED_TYPES: {sorted(unknown)}")
    return requested


def _scan(uploaded_file, limit: int) -> _Scan:
    """Read the whole file once: count, hash, keep the head, look for non-text bytes."""
    uploaded_file.seek(0)
    hasher = hashlib.sha256()
    size = 0
    head = bytearray()
    is_text = True
    while chunk := uploaded_file.read(_CHUNK_BYTES):
        if not isinstance(chunk, bytes | bytearray):
            raise TypeError("validate_upload needs a file opened in binary mode")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        hasher.update(chunk)
        if len(head) < _HEAD_BYTES:
            head += chunk[: _HEAD_BYTES - len(head)]
        if is_text and _NON_TEXT_BYTES.search(chunk):
            is_text = False
    return _Scan(size=size, sha256=hasher.hexdigest(), head=bytes(head), is_text=is_text)


def _sniff_type(uploaded_file, scan: _Scan, extension: str) -> str:
    """The allowed MIME type the content really is, or `AttachmentRejected`."""
    head = scan.head
    unbommed = head.removeprefix(b"\xef\xbb\xbf")
    for magic, description in _EXECUTABLE_MAGIC:
        if head.startswith(magic) or unbommed.startswith(magic):
            raise _not_allowed(description)

    if head.startswith(_ZIP_MAGIC):
        return _zip_type(uploaded_file)

    kind = filetype.guess(head)
    mime = _BINARY_ALIASES.get(kind.mime, kind.mime) if kind else None
    if mime in _BINARY_TYPES:
        return mime
    if scan.is_text:
        # Weak two-byte signatures (e.g. "BM" for bitmaps) match ordinary text, so text that is
        # clean all the way through wins over a binary guess.
        return _text_type(head, extension)
    raise _not_allowed(_("a %(type)s file") % {"type": mime} if mime else _("an unknown format"))


def _text_type(head: bytes, extension: str) -> str:
    """Text types are told apart by extension only; markup is never accepted as text."""
    sample = head[:_MARKUP_SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if _MARKUP_START.match(sample):
        raise _not_allowed(_("HTML or XML"))
    content_type = TEXT_TYPES_BY_EXTENSION.get(extension.lower(), "text/plain")
    if content_type == "message/rfc822":
        # An e-mail starts with header fields; its HTML body may well sit in the first KB.
        if not _EMAIL_HEADER.match(sample):
            return "text/plain"
    elif _MARKUP_ANYWHERE.search(sample):
        raise _not_allowed(_("HTML or XML"))
    return content_type


def _zip_type(uploaded_file) -> str:
    """Tell an Office OOXML document from a plain zip archive by the entries it holds."""
    uploaded_file.seek(0)
    try:
        with zipfile.ZipFile(uploaded_file) as archive:
            names = archive.namelist()
            if any(name.rsplit("/", 1)[-1].lower() == "vbaproject.bin" for name in names):
                raise _not_allowed(_("an Office document with macros"))
            if "[Content_Types].xml" not in names:
                return "application/zip"
            with archive.open("[Content_Types].xml") as part:
                content_types = part.read(_MAX_CONTENT_TYPES_XML).lower()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise _not_allowed(_("a damaged zip archive")) from exc
    if b"macroenabled" in content_types:
        raise _not_allowed(_("an Office document with macros"))
    for prefix, mime in _OOXML_PARTS.items():
        if any(name.startswith(prefix) for name in names):
            return mime
    return "application/zip"


def _name_for_type(original_name: str, content_type: str) -> str:
    """`safe_filename(original_name)` whose extension matches `content_type`, or type_mismatch."""
    name = safe_filename(original_name)
    extensions = ALLOWED_TYPES[content_type]
    extension = _extension_of(name)
    if not extension:
        return safe_filename(f"{name}.{extensions[0]}")
    if extension.lower() not in extensions:
        raise AttachmentRejected(
            _("The file content is %(kind)s but its name ends in .%(extension)s."),
            code="type_mismatch",
            params={"kind": _describe(content_type), "extension": extension},
        )
    return name


def _describe(content_type: str) -> str:
    """A short name users recognise, e.g. "PNG" or "DOCX"."""
    return ALLOWED_TYPES[content_type][0].upper()


def _too_large(limit: int) -> AttachmentRejected:
    return AttachmentRejected(
        _("The file is larger than %(limit)s."),
        code="too_large",
        params={"limit": filesizeformat(limit)},
    )


def _not_allowed(what) -> AttachmentRejected:
    return AttachmentRejected(
        _("Files of this type are not accepted (%(what)s)."),
        code="type_not_allowed",
        params={"what": what},
    )


# --- names --------------------------------------------------------------------------------------


def _extension_of(name: str) -> str:
    """The extension of `name` (without dot), or "" when the last dot part is not one.

    Only 1-10 ASCII letters/digits with at least one letter count, so "Scan 10.32.11" has none.
    """
    stem, dot, extension = name.rpartition(".")
    if dot and stem and _EXTENSION.match(extension):
        return extension
    return ""


def safe_filename(name: str) -> str:
    """Return a file name that is safe on disk, in S3 keys, in headers and on users' machines.

    Guarantees: no directory part (/ and \\ both count), no control or invisible formatting
    characters (bidi overrides, zero-width), NFKC-normalised, only letters, digits, marks and
    `-_.()` (anything else, spaces included, becomes "_"), no "..", does not start with "." or
    "-" nor end with ".", at most `MAX_NAME_LENGTH` characters with the extension kept, never a
    reserved Windows device name, never empty (`FALLBACK_NAME`). Idempotent.
    """
    if not isinstance(name, str):
        name = ""
    name = unicodedata.normalize("NFKC", name)
    name = re.split(r"[/\\]", name)[-1]
    kept = []
    for char in name:
        category = unicodedata.category(char)
        if category[0] == "C":
            continue
        if category[0] in "LM" or category == "Nd" or char in "-_.()":
            kept.append(char)
        else:
            kept.append("_")
    name = "".join(kept)
    # Underscores next to a dot go first ("emoji 😀.png" is not "emoji_.png"), then runs collapse.
    name = re.sub(r"_*\._*", ".", name)
    name = re.sub(r"_{2,}", "_", re.sub(r"\.{2,}", ".", name))
    name = name.lstrip(".-").rstrip(".")
    if not name.strip("_"):
        return FALLBACK_NAME

    if name.split(".", 1)[0].lower() in _WINDOWS_RESERVED:
        name = f"_{name}"

    if len(name) > MAX_NAME_LENGTH:
        extension = _extension_of(name)
        if extension:
            stem = name[: MAX_NAME_LENGTH - len(extension) - 1].rstrip("._")
            name = f"{stem}.{extension}" if stem else FALLBACK_NAME
        else:
            name = name[:MAX_NAME_LENGTH].rstrip(".")
    return name


def storage_key(safe_name: str) -> str:
    """An unguessable storage path: `YYYY/MM/<uuid4 hex>/<name>` (UTC month).

    The name is passed through `safe_filename` again, so no input can add path segments.
    """
    return f"{timezone.now():%Y/%m}/{uuid.uuid4().hex}/{safe_filename(safe_name)}"


# --- storage and download -----------------------------------------------------------------------


def get_bucket_storage(alias: str) -> Storage:
    """The configured storage of the file bucket `alias` (see settings.FILE_BUCKETS).

    Raises ValueError for anything that is not a file bucket, including "default" and
    "staticfiles", so uploads can never end up in a public static location.
    """
    if alias not in getattr(settings, "FILE_BUCKETS", {}):
        raise ValueError(f"unknown file bucket {alias!r}")
    try:
        return storages[alias]
    except InvalidStorageError as exc:
        raise ValueError(f"file bucket {alias!r} has no storage configured") from exc


# --- storing before the rows: store, write the rows, clean up -----------------------------------


@dataclass(frozen=True, slots=True)
class StoredFile:
    """An upload that passed `validate_upload` and is now in bucket `bucket` under `name`.

    `name` is what the storage returned (assign it to the FileField: `Model(file=stored.name)`).
    """

    bucket: str
    name: str
    upload: ValidatedUpload
    quota: "QuotaReservation | None" = None


def store_uploads(
    files: Iterable,
    *,
    bucket: str,
    max_bytes: int | None = None,
    allowed_types: Iterable[str] | None = None,
    uploader=None,
) -> list[StoredFile]:
    """Validate every file, then write each one to the storage of `bucket`.

    Call it before any transaction or row lock is taken: an S3 upload may take seconds and must
    not hold a ticket (or any other) row lock meanwhile. Guarantees: nothing is stored unless
    every file passes validation (`AttachmentRejected` otherwise) and, when `uploader` is a
    customer, fits in what is left of their daily quota (`reserve_upload_quota`); if a write
    fails, the files already written are deleted (best effort) and the quota given back before
    the error propagates. The stored object carries the sniffed content type, never the client's.
    """
    files = list(files)
    validated = [
        (upload, validate_upload(upload, max_bytes=max_bytes, allowed_types=allowed_types))
        for upload in files
    ]
    if not validated:
        return []
    reserved = reserve_upload_quota(uploader, sum(checked.size for _, checked in validated))
    storage = get_bucket_storage(bucket)
    stored: list[StoredFile] = []
    try:
        for upload, checked in validated:
            upload.seek(0)
            content = File(upload, name=checked.safe_name)
            content.content_type = checked.content_type  # what S3 records as the object's type
            name = storage.save(storage_key(checked.safe_name), content)
            stored.append(StoredFile(bucket=bucket, name=name, upload=checked, quota=reserved))
    except BaseException:
        discard_stored(stored)
        reserved.release()
        raise
    return stored


# --- the per-customer daily quota ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuotaReservation:
    """Bytes counted against one uploader's day; `release()` gives them back (once)."""

    key: str | None = None
    size: int = 0
    _released: list = field(default_factory=list)

    def release(self) -> None:
        if self.key is None or self._released:
            return
        self._released.append(True)
        # ValueError: the day's counter expired meanwhile, nothing is left to give back.
        with suppress(ValueError):
            cache.decr(self.key, self.size)


NO_QUOTA = QuotaReservation()


def _quota_key(user, day) -> str:
    return f"upload-quota:{user.pk}:{day:%Y-%m-%d}"


def uploaded_today(user) -> int:
    """Bytes `user` has had stored today (UTC) against their quota."""
    return int(cache.get(_quota_key(user, timezone.now()), 0))


def reserve_upload_quota(uploader, size: int) -> QuotaReservation:
    """Count `size` bytes against `uploader`'s quota for today, or raise `quota_exceeded`.

    The quota (`settings.ATTACHMENT_DAILY_QUOTA_BYTES` per UTC day, all buckets together)
    applies to signed-in customers; staff, callers without an account and a quota of 0 are not
    limited. The count is an
    atomic increment in the shared cache, so two uploads at once cannot both squeeze under the
    limit; a refused upload takes its bytes back at once, and so does one whose storage or rows
    fail (`stored_uploads`). Like every rate limit kept in the cache, a cache flush forgets the
    day's count.
    """
    limit = settings.ATTACHMENT_DAILY_QUOTA_BYTES
    if not limit or uploader is None or not getattr(uploader, "is_authenticated", False):
        return NO_QUOTA
    from core.roles import is_staff_member

    if is_staff_member(uploader):
        return NO_QUOTA
    key = _quota_key(uploader, timezone.now())
    cache.add(key, 0, timeout=_QUOTA_TTL_SECONDS)
    try:
        used = cache.incr(key, size)
    except ValueError:  # expired between add and incr (midnight): start the day again
        cache.add(key, 0, timeout=_QUOTA_TTL_SECONDS)
        used = cache.incr(key, size)
    if used > limit:
        cache.decr(key, size)
        raise AttachmentRejected(
            _(
                "You can upload %(limit)s a day and have %(left)s left today; these files are "
                "%(size)s. Try again tomorrow or send fewer files."
            ),
            code="quota_exceeded",
            params={
                "limit": filesizeformat(limit),
                "left": filesizeformat(max(limit - (used - size), 0)),
                "size": filesizeformat(size),
            },
        )
    return QuotaReservation(key=key, size=size)


# A day's counter outlives the UTC day it counts by an hour, then goes.
_QUOTA_TTL_SECONDS = 25 * 60 * 60


def discard_stored(stored: Iterable[StoredFile]) -> int:
    """Delete stored files whose rows were never written; returns how many went.

    Best effort: a failing delete is logged and skipped (the orphan sweep removes it later), so
    this never hides the error that made the caller discard.
    """
    deleted = 0
    for item in stored:
        if item.quota is not None:
            item.quota.release()
        try:
            get_bucket_storage(item.bucket).delete(item.name)
        except Exception:
            logger.warning(
                "Could not delete %s from %s; the orphan sweep will",
                item.name,
                item.bucket,
                exc_info=True,
            )
        else:
            deleted += 1
    return deleted


@contextmanager
def stored_uploads(
    files: Iterable,
    *,
    bucket: str,
    max_bytes: int | None = None,
    allowed_types: Iterable[str] | None = None,
    uploader=None,
) -> Iterator[list[StoredFile]]:
    """Store `files` (see `store_uploads`), then let the block write the rows that name them.

    The block should write its rows in its own short `transaction.atomic()`. If the block raises
    (a refused transition, a failed insert, a rollback), the stored files are deleted at once,
    before the exception propagates: `transaction.on_commit` cannot do this, since it never fires
    on rollback. If the block ran inside an outer transaction that rolls back later, the files
    stay behind unreferenced until `core.housekeeping.sweep_orphaned_files` removes them.

        with stored_uploads(request.FILES.getlist("files"), bucket="insurance-docs") as stored:
            with transaction.atomic():
                document = lock_document(document_id)
                for item in stored:
                    DocumentFile.objects.create(document=document, file=item.name, ...)
    """
    stored = store_uploads(
        files,
        bucket=bucket,
        max_bytes=max_bytes,
        allowed_types=allowed_types,
        uploader=uploader,
    )
    try:
        yield stored
    except BaseException:
        discard_stored(stored)
        raise


def content_disposition(content_type: str, filename: str) -> str:
    """A Content-Disposition header value for serving a stored attachment.

    `inline` only for `INLINE_TYPES` (previewable images and PDF), `attachment` otherwise. The
    name is passed through `safe_filename`; a non-ASCII name is sent as an ASCII `filename=`
    fallback plus `filename*=UTF-8''<percent-encoded>` (RFC 6266 / RFC 8187).
    """
    base_type = content_type.split(";", 1)[0].strip().lower()
    disposition = "inline" if base_type in INLINE_TYPES else "attachment"
    name = safe_filename(filename)
    fallback = _ascii_fallback(name)
    if fallback == name:
        return f'{disposition}; filename="{name}"'
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# Letters that Unicode decomposition does not reduce to ASCII but readers expect spelled out.
_ASCII_SPELLINGS = str.maketrans(
    {
        "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
        "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "Th", "ı": "i",
    }
)  # fmt: skip


def _ascii_fallback(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.translate(_ASCII_SPELLINGS))
    ascii_only = "".join(
        char if char.isascii() else "_" for char in decomposed if unicodedata.category(char) != "Mn"
    )
    ascii_only = re.sub(r"_{2,}", "_", ascii_only)
    extension = _extension_of(ascii_only)
    stem = ascii_only[: -len(extension) - 1] if extension else ascii_only
    if not stem.strip("_."):
        stem = FALLBACK_NAME
    return safe_filename(f"{stem}.{extension}" if extension else stem)


def download_url(storage: Storage, name: str, *, filename: str, content_type: str) -> str | None:
    """A short-lived signed download URL for `name` in an S3 storage, or None for other storages.

    For S3 the URL expires after `settings.SIGNED_URL_SECONDS` and makes S3 answer with our
    `content_disposition` and `content_type` whatever metadata the object carries. None means
    the caller must stream the file itself through a permission-checked view.
    Raises ImproperlyConfigured for an S3 storage that would hand out unsigned URLs.
    """
    # Only an already-imported S3 backend can have produced an S3 storage; checking sys.modules
    # keeps boto3 from being imported in local mode just to answer "no".
    s3_module = sys.modules.get("storages.backends.s3")
    if s3_module is None or not isinstance(storage, s3_module.S3Storage):
        return None
    if not storage.querystring_auth or storage.custom_domain:
        raise ImproperlyConfigured(
            "Attachment buckets need querystring_auth=True and no custom_domain: "
            "their objects are private and reachable only through signed S3 URLs."
        )
    return storage.url(
        name,
        parameters={
            "ResponseContentDisposition": content_disposition(content_type, filename),
            "ResponseContentType": content_type,
        },
        expire=settings.SIGNED_URL_SECONDS,
    )


def file_response(storage: Storage, name: str, *, filename: str, content_type: str):
    """The response that hands a stored file to the person allowed to have it: a short-lived
    signed URL where the storage has one (S3), else the bytes, as a download that the browser
    may neither sniff nor run (no-store: it is someone's private file)."""
    from django.http import FileResponse, HttpResponseRedirect

    signed = download_url(storage, name, filename=filename, content_type=content_type)
    if signed:
        return HttpResponseRedirect(signed)
    response = FileResponse(storage.open(name, "rb"), content_type=content_type)
    response["Content-Disposition"] = content_disposition(content_type, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
