"""The booking flow as a parent walks it, page by page (plain form posts, no JavaScript)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from nibog.accounts.models import Child
from nibog.booking.models import Booking
from nibog.booking.service import price_basket
from nibog.core.timeutil import utcnow
from tests.factories import ChildFactory, UserFactory
from tests.helpers import html, sign_in


def walk_to_review(client, world, *, kids=None, slot_index=0, addons=True):
    """Children → games → slots → extras, as a signed-in parent; returns the review page."""
    kids = kids or world.kids
    e = world.event.id
    resp = client.post(f"/book/{e}/children", data={"children": [f"c{k.id}" for k in kids]})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/book/{e}/games")
    resp = client.post(f"/book/{e}/games",
                       data={"games": [f"c{k.id}:{world.crawl.id}" for k in kids]})
    assert resp.status_code == 302, html(resp)
    slot = world.crawl_slots[slot_index]
    resp = client.post(f"/book/{e}/slots",
                       data={f"slot_c{k.id}_{world.crawl.id}": slot.id for k in kids})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/book/{e}/extras")
    data = {f"qty_{world.addon.id}": 1 if addons else 0, f"variant_{world.addon.id}": world.variant.id}
    resp = client.post(f"/book/{e}/extras", data=data)
    assert resp.status_code == 302
    return client.get(f"/book/{e}/review")


def test_signed_out_visitor_chooses_sign_in_register_or_guest(client, world):
    page = html(client.get(f"/book/{world.event.id}"))
    assert f"/login?next=/book/{world.event.id}" in page
    assert f"/register?next=/book/{world.event.id}" in page
    assert "Continue as a guest" in page
    # Later steps send a visitor without either back to the start.
    resp = client.get(f"/book/{world.event.id}/games")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/book/{world.event.id}")


def test_parent_books_two_children_with_an_addon_and_promo_then_pays(client, world, db):
    sign_in(client, world.parent)
    e = world.event.id
    resp = client.get(f"/book/{e}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/book/{e}/children")
    page = html(client.get(f"/book/{e}/children"))
    assert "Aarav" in page and "Diya" in page

    review = walk_to_review(client, world)
    page = html(review)
    assert review.status_code == 200
    # The server's breakdown: two crawling races and a T-shirt.
    assert page.count("Baby Crawling") == 2 and "T-shirt" in page
    assert "₹1,897" in page  # 799 + 799 + 299

    resp = client.post(f"/book/{e}/promo", data={"code": "early10"})
    assert resp.status_code == 302
    page = html(client.get(f"/book/{e}/review"))
    assert "Promo discount" in page and "−₹189.70" in page and "₹1,707.30" in page

    resp = client.post(f"/book/{e}/confirm")
    assert resp.status_code == 302
    booking = db.session.scalars(select(Booking)).one()
    assert resp.headers["Location"].endswith(f"/book/{booking.id}/pay")
    assert booking.user_id == world.parent.id and booking.status == "pending_payment"
    assert booking.total == 170730

    pay = html(client.get(f"/book/{booking.id}/pay"))
    assert "data-countdown=" in pay and "Seats held for you until" in pay
    assert "Pay ₹1,707.30" in pay

    resp = client.post(f"/book/{booking.id}/pay")
    assert resp.status_code == 303
    checkout = resp.headers["Location"]
    assert "/payments/sandbox/checkout/" in checkout
    path = checkout.split("127.0.0.1:5000")[-1]
    sandbox = client.post(path, data={"action": "pay", "method": "upi"})
    assert f"/book/{booking.id}/done" in html(sandbox)

    done = html(client.get(f"/book/{booking.id}/done"))
    assert "is confirmed" in done and f"/book/{booking.id}/ticket" in done
    ticket = client.get(f"/book/{booking.id}/ticket")
    assert ticket.status_code == 200 and ticket.mimetype == "application/pdf"
    assert ticket.data.startswith(b"%PDF")


def test_review_total_is_the_service_price(client, world):
    sign_in(client, world.parent)
    page = html(walk_to_review(client, world, kids=world.kids[:1], addons=False))
    expected = price_basket(
        event_id=world.event.id, items=[{"child_id": world.kids[0].id,
                                         "slot_id": world.crawl_slots[0].id}],
        addons=[], promo_code=None, user_id=world.parent.id)
    assert f'data-total="{expected["total"]}"' in page


def test_games_step_lists_only_eligible_games_and_why_not_the_others(client, world):
    sign_in(client, world.parent)
    e = world.event.id
    client.post(f"/book/{e}/children", data={"children": [f"c{world.kids[0].id}"]})
    page = html(client.get(f"/book/{e}/games"))
    assert f'value="c{world.kids[0].id}:{world.crawl.id}"' in page
    assert f'value="c{world.kids[0].id}:{world.race.id}"' not in page
    assert "Too young: this game is for 49–84 months." in page
    # Posting an ineligible game anyway is refused.
    resp = client.post(f"/book/{e}/games", data={"games": [f"c{world.kids[0].id}:{world.race.id}"]})
    assert resp.status_code == 422


def test_no_child_chosen_is_explained(client, world):
    sign_in(client, world.parent)
    resp = client.post(f"/book/{world.event.id}/children", data={})
    assert resp.status_code == 422
    assert "Choose at least one child." in html(resp)


def test_add_child_during_booking_keeps_values_on_error_and_chooses_the_new_child(client, world, db):
    sign_in(client, world.parent)
    e = world.event.id
    client.get(f"/book/{e}")
    resp = client.post(f"/book/{e}/children/add",
                       data={"full_name": "Kabir", "date_of_birth": "2099-01-01", "gender": "male"})
    assert resp.status_code == 422
    page = html(resp)
    assert 'value="Kabir"' in page and "cannot be in the future" in page
    assert db.session.scalars(select(Child).where(Child.full_name == "Kabir")).all() == []
    resp = client.post(f"/book/{e}/children/add",
                       data={"full_name": "Kabir", "date_of_birth": "2024-03-01", "gender": "male"})
    assert resp.status_code == 302
    kabir = db.session.scalars(select(Child).where(Child.full_name == "Kabir")).one()
    page = html(client.get(f"/book/{e}/children"))
    assert re.search(rf'<input checked[^>]*value="c{kabir.id}"', page)


def test_missing_slot_choice_is_explained_next_to_the_game(client, world):
    sign_in(client, world.parent)
    e = world.event.id
    kid = world.kids[0]
    client.post(f"/book/{e}/children", data={"children": [f"c{kid.id}"]})
    client.post(f"/book/{e}/games", data={"games": [f"c{kid.id}:{world.crawl.id}"]})
    resp = client.post(f"/book/{e}/slots", data={})
    assert resp.status_code == 422
    assert "Choose a time slot." in html(resp)


def test_invalid_promo_is_explained_with_the_code_kept(client, world):
    sign_in(client, world.parent)
    walk_to_review(client, world, kids=world.kids[:1])
    resp = client.post(f"/book/{world.event.id}/promo", data={"code": "NOPE"})
    assert resp.status_code == 422
    page = html(resp)
    assert 'value="NOPE"' in page and 'id="code-error"' in page


def test_slot_filled_before_submit_is_explained_and_the_rest_kept(client, world, db):
    sign_in(client, world.parent)
    walk_to_review(client, world)
    slot = world.crawl_slots[0]
    slot.booked_count = slot.capacity  # someone else took the last seats meanwhile
    db.session.commit()
    resp = client.post(f"/book/{world.event.id}/confirm")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/book/{world.event.id}/slots")
    page = html(client.get(resp.headers["Location"]))
    assert "has just filled up" in page
    assert db.session.scalars(select(Booking)).first() is None
    # Another time is chosen; children, games and the T-shirt are still in the basket.
    other = world.crawl_slots[1]
    client.post(f"/book/{world.event.id}/slots",
                data={f"slot_c{k.id}_{world.crawl.id}": other.id for k in world.kids})
    review = html(client.get(f"/book/{world.event.id}/review"))
    assert review.count("Baby Crawling") == 2 and "T-shirt" in review


def test_expired_hold_says_so_and_offers_to_book_again(client, world, db):
    sign_in(client, world.parent)
    walk_to_review(client, world)
    client.post(f"/book/{world.event.id}/confirm")
    booking = db.session.scalars(select(Booking)).one()
    booking.hold_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    page = html(client.get(f"/book/{booking.id}/pay"))
    assert "Your hold has expired." in page and "Book again" in page
    assert client.post(f"/book/{booking.id}/pay").status_code == 302  # refused, back to pay
    resp = client.post(f"/book/{booking.id}/again")
    assert resp.headers["Location"].endswith(f"/book/{world.event.id}/review")
    assert html(client.get(resp.headers["Location"])).count("Baby Crawling") == 2


def test_another_parents_booking_is_404(client, world, db):
    sign_in(client, world.parent)
    walk_to_review(client, world, kids=world.kids[:1])
    client.post(f"/book/{world.event.id}/confirm")
    booking = db.session.scalars(select(Booking)).one()
    stranger = UserFactory()
    ChildFactory(parent=stranger)
    sign_in(client, stranger)
    for url in ("pay", "done", "ticket"):
        assert client.get(f"/book/{booking.id}/{url}").status_code == 404, url
    assert client.post(f"/book/{booking.id}/pay").status_code == 404
    client.post("/logout")
    assert client.get(f"/book/{booking.id}/pay").status_code == 404


def test_booking_pages_render_in_hindi(client, world):
    sign_in(client, world.parent)
    client.set_cookie("lang", "hi")
    review = walk_to_review(client, world, kids=world.kids[:1])
    assert '<html lang="hi">' in html(review)


def test_confirm_without_csrf_token_is_refused(client, world, csrf_on):
    sign_in(client, world.parent)
    resp = client.post(f"/book/{world.event.id}/children",
                       data={"children": [f"c{world.kids[0].id}"]})
    assert resp.status_code == 400
    assert "reload the page" in html(resp)



def test_one_child_in_two_games_at_the_same_time_is_refused_at_the_slot_step(client, world, db):
    from tests.factories import EventGameFactory, GameSlotFactory, GameTemplateFactory

    walker = EventGameFactory(event=world.event, template=GameTemplateFactory(
        name="Baby Walker", min_age_months=12, max_age_months=48))
    same_time = GameSlotFactory(event_game=walker, start_time=world.crawl_slots[0].start_time,
                                end_time=world.crawl_slots[0].end_time)
    sign_in(client, world.parent)
    e, kid = world.event.id, world.kids[0]
    client.post(f"/book/{e}/children", data={"children": [f"c{kid.id}"]})
    client.post(f"/book/{e}/games",
                data={"games": [f"c{kid.id}:{world.crawl.id}", f"c{kid.id}:{walker.id}"]})
    resp = client.post(f"/book/{e}/slots", data={
        f"slot_c{kid.id}_{world.crawl.id}": world.crawl_slots[0].id,
        f"slot_c{kid.id}_{walker.id}": same_time.id})
    assert resp.status_code == 422
    page = html(resp)
    assert "already plays another game at this time" in page
    assert f'value="{world.crawl_slots[0].id}"' in page  # the choices stay on the page


def test_full_slot_waiting_list_needs_sign_in_then_takes_a_child(client, world, db):
    from nibog.booking.models import WaitingListEntry

    slot = world.crawl_slots[0]
    slot.booked_count = slot.capacity
    db.session.commit()
    url = f"/book/{world.event.id}/waitlist/{slot.id}"
    resp = client.get(url)
    assert resp.status_code == 302 and "/login?next=" in resp.headers["Location"]
    sign_in(client, world.parent)
    page = html(client.get(url))
    assert "Aarav" in page and "Join the waiting list" in page
    resp = client.post(url, data={})
    assert resp.status_code == 422 and "Choose a child." in html(resp)
    resp = client.post(url, data={"child_id": world.kids[0].id})
    assert resp.status_code == 302
    assert "You are on the waiting list" in html(client.get(resp.headers["Location"]))
    entry = db.session.scalars(select(WaitingListEntry)).one()
    assert entry.child_id == world.kids[0].id and entry.slot_id == slot.id
