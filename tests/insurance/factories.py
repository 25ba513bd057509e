"""Files and documents for the insurance tests."""

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from insurance import services

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/MediaBox[0 0 3 3]/Parent 2 0 R>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81"
    b"\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def pdf(name="policy.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def png(name="scan.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


START = dt.date(2026, 1, 1)
END = dt.date(2026, 12, 31)


def submit(owner, *, file=None, start=START, end=END, **fields):
    values = {
        "policy_number": "POL-123",
        "insurer": "Acme Mutual",
        "coverage_type": "general_liability",
        "coverage_start": start,
        "coverage_end": end,
        **fields,
    }
    return services.submit(by=owner, file=file or pdf(), **values)


def in_review(owner, reviewer, **fields):
    document = submit(owner, **fields)
    return services.start_review(document=document, by=reviewer)


def approved(owner, reviewer, **fields):
    return services.approve(document=in_review(owner, reviewer, **fields), by=reviewer)
