"""Documents are stored through django-storages on an S3 API (moto's server on loopback)."""

import pytest
from rest_framework.test import APIClient

from insurance.models import InsuranceDocument, document_storage
from tests.core.test_attachments import fetch, s3_endpoint  # noqa: F401  (the moto server)

from .factories import PDF, submit

BUCKET = "insurance-docs-test"


@pytest.fixture
def s3_documents(s3_endpoint, settings):  # noqa: F811
    import boto3

    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ).create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "insurance-docs": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "querystring_auth": True,
                "default_acl": "private",
                "file_overwrite": False,
                "signature_version": "s3v4",
            },
        },
    }


@pytest.mark.django_db
def test_a_document_goes_to_s3_and_comes_back_through_a_signed_url(s3_documents, owner, reviewer):
    document = submit(owner)
    stored = InsuranceDocument.objects.get(pk=document.pk)
    storage = document_storage()
    assert type(storage).__name__ == "S3Storage"
    with storage.open(stored.file.name, "rb") as copy:
        assert copy.read() == PDF

    client = APIClient()
    client.force_authenticate(reviewer)
    response = client.get(f"/api/v1/insurance/documents/{document.pk}/download/")

    assert response.status_code == 302
    assert "X-Amz-Signature=" in response["Location"]
    status, headers, body = fetch(response["Location"])
    assert (status, body) == (200, PDF)
    headers = {name.lower(): value for name, value in headers.items()}
    assert headers["content-type"] == "application/pdf"

    other = APIClient()
    other.force_authenticate(reviewer.__class__.objects.create_user("x@example.com"))
    assert other.get(f"/api/v1/insurance/documents/{document.pk}/download/").status_code == 404
