from django.urls import reverse

from privacy.models import PrivacyEvent, PrivacyRequest


def test_a_lead_asks_for_an_export_on_the_desk_and_downloads_it(client, lead, alice):
    client.force_login(lead)
    response = client.post(reverse("privacy:desk"), {"kind": "export", "email": alice.user.email})
    assert response.status_code == 302
    request = PrivacyRequest.objects.get()
    from privacy import services

    services.build_export(request.pk)
    page = client.get(reverse("privacy:desk"))
    assert page.status_code == 200 and b"Download" in page.content
    link = services.download_url(PrivacyRequest.objects.get())
    got = client.get(link)
    assert got.status_code == 200 and got["Content-Type"] == "application/zip"
    assert b"".join(got.streaming_content)[:2] == b"PK"
    assert PrivacyEvent.objects.filter(kind="downloaded", actor=lead).count() == 1
    assert client.get(link[:-3] + "abc/").status_code == 404


def test_agents_and_customers_get_no_privacy_page(client, staff, alice):
    for user in (staff.agent, alice.user):
        client.force_login(user)
        assert client.get(reverse("privacy:desk")).status_code == 403


def test_an_erasure_waits_for_a_second_lead_on_the_page(client, lead, second_lead, alice):
    client.force_login(lead)
    client.post(reverse("privacy:desk"), {"kind": "erasure", "email": alice.user.email})
    request = PrivacyRequest.objects.get()
    assert request.status == "pending"
    client.post(reverse("privacy:action", args=[request.pk, "approve"]))
    request.refresh_from_db()
    assert request.status == "pending"  # the asker cannot confirm
    client.force_login(second_lead)
    client.post(reverse("privacy:action", args=[request.pk, "approve"]))
    request.refresh_from_db()
    assert request.status == "approved" and request.due_at


def test_the_page_shows_retention_with_its_dry_run(client, lead, alice):
    from privacy import retention

    retention.set_policy(by=lead, kind="support.attachments", days=0, action="delete", enabled=True)
    client.force_login(lead)
    page = client.get(reverse("privacy:desk")).content.decode()
    assert "Ticket attachments" in page and "delete after 0 days" in page
    assert "1 row" in page  # alice's attachment is due
