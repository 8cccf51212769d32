from tests.factories import EventFactory, GameSlotFactory, EventGameFactory, AddOnVariantFactory, AddOnFactory
from tests.admin_web.conftest import html
def test_x(admin_client, staff_client, monkeypatch):
    import traceback, nibog.core.errors as errs
    monkeypatch.setattr(errs.log, 'exception', lambda *a, **k: traceback.print_exc())
    e = EventFactory()
    GameSlotFactory(event_game=EventGameFactory(event=e))
    AddOnVariantFactory(addon=AddOnFactory(event=e))
    r = admin_client.get(f"/admin/events/{e.id}")
    print(r.status_code)
    open("/tmp/event.html","w").write(html(r))
    r = admin_client.get("/admin/events")
    print(r.status_code)
    r = admin_client.get("/admin/events/new")
    print(r.status_code)
    r = staff_client.get(f"/admin/events/{e.id}")
    print(r.status_code)
    assert 0
