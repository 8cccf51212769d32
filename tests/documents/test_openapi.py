"""Every endpoint of this area is documented in /api/openapi.json."""


def test_documents_reports_and_receipt_webhooks_are_documented(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in (
        "/api/bookings/{booking_id}/ticket",
        "/api/bookings/{booking_id}/certificate",
        "/api/bookings/{booking_id}/certificate/email",
        "/api/admin/reports",
        "/api/admin/reports/{report_id}",
        "/api/admin/reports/{report_id}/download",
        "/api/admin/jobs/failed",
        "/webhooks/email/delivery",
        "/webhooks/email/bounce",
        "/webhooks/sms/delivery",
    ):
        assert path in paths, path
