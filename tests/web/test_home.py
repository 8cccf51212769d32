from tests.factories import EventFactory


def test_home_lists_published_upcoming_events(client):
    EventFactory(title="Hyderabad Winter Games")
    EventFactory(title="Secret Draft", status="draft")
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Hyderabad Winter Games" in html
    assert "Secret Draft" not in html
