from nibog.extensions import db
from nibog.integrations.models import Partner


def test_create_partner_prints_a_secret_once_and_rotates_on_request(runner):
    result = runner.invoke(args=["create-partner", "--name", "Kids Tix", "--slug", "KidsTix"])
    assert result.exit_code == 0, result.output
    partner = db.session.scalar(db.select(Partner).where(Partner.slug == "kidstix"))
    assert partner.webhook_secret in result.output and len(partner.webhook_secret) == 64

    again = runner.invoke(args=["create-partner", "--name", "Kids Tix", "--slug", "kidstix"])
    assert again.exit_code != 0
    old = partner.webhook_secret
    rotated = runner.invoke(
        args=["create-partner", "--name", "Kids Tix", "--slug", "kidstix", "--rotate"]
    )
    assert rotated.exit_code == 0
    db.session.expire_all()
    assert db.session.get(Partner, partner.id).webhook_secret != old
