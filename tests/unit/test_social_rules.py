"""Social login's rules, on claims an adapter verified (no provider involved): an identity links to one login; a linked
identity logs it in; an existing login is linked only on a verified email, else through the link mailed to it; an
unknown email registers a customer with consent and their own account; staff never log in this way; a person cannot
unlink their last way to log in."""
import re

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from helpdesk.accounts import memberships, social
from helpdesk.accounts import service as accounts
from helpdesk.accounts.errors import LinkExpired
from helpdesk.accounts.models import User
from helpdesk.accounts.social_models import SocialIdentity
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db


def claims(email="carla@example.test", verified=True, subject="sub-1", name="Carla Customer"):
    return social.VerifiedClaims(subject=subject, email=email, email_verified=verified, name=name)


def identity(subject="sub-1", provider="example"):
    db.session.rollback()
    return db.session.scalar(sa.select(SocialIdentity).where(SocialIdentity.provider == provider,
                                                             SocialIdentity.subject == subject))


def user_by(email):
    db.session.rollback()
    return db.session.scalar(sa.select(User).where(User.email == email))


def confirmation_link(smtp, email):
    """(identity id, token) of the last confirmation link mailed to ``email``."""
    mails = [m for m in smtp.messages
             if m["To"].addresses[0].addr_spec == email and "Confirm logging in" in m["Subject"]]
    assert mails, f"no confirmation mail to {email}"
    found = re.search(r"/login/social/confirm/(\d+)/(\S+)", mails[-1].get_body(("plain",)).get_content())
    return int(found.group(1)), found.group(2)


def register(consent=True, **kwargs):
    return social.register("example", claims(**kwargs), full_name="Olga Open", consent=consent,
                           policy_version="2026-11", locale="de")


# --------------------------------------------------------------------------- logging in and linking

def test_a_verified_email_of_a_login_links_the_identity_and_logs_that_login_in(app, customer, smtp):
    outcome = social.sign_in_with("example", claims())

    assert outcome.kind == "logged-in" and outcome.user.id == customer.id
    linked = identity()
    assert linked.user_id == customer.id and linked.linked_at is not None and linked.last_used_at is not None
    assert smtp.messages == []  # nothing to confirm


def test_a_linked_identity_logs_in_its_own_login_whatever_email_the_provider_gives_now(app, customer, make_user):
    social.sign_in_with("example", claims())
    other = make_user("customer", email="dora@example.test")

    outcome = social.sign_in_with("example", claims(email="dora@example.test"))

    assert outcome.kind == "logged-in" and outcome.user.id == customer.id != other.id
    assert identity().email == "dora@example.test"  # the address last seen


def test_an_identity_links_to_at_most_one_login(app, customer, make_user):
    social.sign_in_with("example", claims())
    dora = make_user("customer", email="dora@example.test")
    db.session.add(SocialIdentity(provider="example", subject="sub-1", user_id=dora.id, email=dora.email))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    # The same subject at another provider is another identity.
    assert social.sign_in_with("other", claims(email="dora@example.test")).user.id == dora.id


def test_an_unverified_email_of_a_login_links_only_through_the_link_mailed_to_it(app, customer, smtp):
    outcome = social.sign_in_with("example", claims(verified=False))

    assert outcome.kind == "check-mail" and outcome.user is None
    assert identity().linked_at is None
    assert social.sign_in_with("example", claims(verified=False)).kind == "check-mail"  # still not linked
    identity_id, token = confirmation_link(smtp, "carla@example.test")  # the latest link

    user = social.confirm_identity(identity_id, token, consent=False, policy_version="2026-11", locale="en")
    assert user.id == customer.id and identity().linked_at is not None
    assert accounts.authenticate("carla@example.test", "correct horse battery").id == customer.id  # password kept
    assert social.sign_in_with("example", claims(verified=False)).kind == "logged-in"


def test_a_confirmation_link_works_once_and_only_its_latest_one(app, customer, smtp):
    social.sign_in_with("example", claims(verified=False))
    first_id, first = confirmation_link(smtp, "carla@example.test")
    social.sign_in_with("example", claims(verified=False))
    _id, second = confirmation_link(smtp, "carla@example.test")

    with pytest.raises(LinkExpired):
        social.confirm_identity(first_id, first, consent=False, policy_version="1", locale="en")
    social.confirm_identity(first_id, second, consent=False, policy_version="1", locale="en")
    with pytest.raises(LinkExpired):
        social.confirm_identity(first_id, second, consent=False, policy_version="1", locale="en")


def test_a_login_deactivated_since_cannot_log_in_through_its_identity(app, customer):
    social.sign_in_with("example", claims())
    customer = user_by("carla@example.test")
    customer.active = False
    db.session.commit()

    with pytest.raises(social.SocialLoginFailed):
        social.sign_in_with("example", claims())


def test_no_email_from_the_provider_logs_nobody_in(app, customer):
    with pytest.raises(social.EmailMissing):
        social.sign_in_with("example", claims(email=""))
    assert identity() is None


# --------------------------------------------------------------------------- registering

def test_a_verified_unknown_email_registers_only_with_consent(app, smtp):
    outcome = social.sign_in_with("example", claims(email="olga@example.test"))
    assert outcome.kind == "register" and user_by("olga@example.test") is None  # nothing written yet

    with pytest.raises(ValidationFailed) as refused:
        register(consent=False, email="olga@example.test")
    assert "consent" in refused.value.errors and user_by("olga@example.test") is None

    outcome = register(email="olga@example.test")
    olga = user_by("olga@example.test")
    assert outcome.kind == "logged-in" and outcome.user.id == olga.id
    assert olga.is_active and olga.is_customer and not social.has_password(olga)
    assert olga.consent_policy_version == "2026-11" and olga.consent_at is not None and olga.locale == "de"
    [own] = memberships.memberships_of(olga)
    assert own.is_owner
    assert identity().user_id == olga.id and identity().linked_at is not None
    assert accounts.authenticate("olga@example.test", social.NO_PASSWORD) is None  # the marker is no password


def test_an_unverified_unknown_email_registers_once_the_mailed_link_is_opened_with_consent(app, smtp):
    outcome = social.sign_in_with("example", claims(email="olga@example.test", verified=False))

    assert outcome.kind == "check-mail"
    olga = user_by("olga@example.test")
    assert olga is not None and not olga.is_active and olga.consent_at is None
    identity_id, token = confirmation_link(smtp, "olga@example.test")
    assert social.confirmation_for(identity_id, token)[1] is True  # registering: asks for consent
    with pytest.raises(ValidationFailed):
        social.confirm_identity(identity_id, token, consent=False, policy_version="2026-11", locale="en")

    social.confirm_identity(identity_id, token, consent=True, policy_version="2026-11", locale="en")
    olga = user_by("olga@example.test")
    assert olga.is_active and olga.consent_policy_version == "2026-11"
    assert memberships.default_account_id(olga) is not None
    assert any("Welcome" in m["Subject"] for m in smtp.messages if m["To"].addresses[0].addr_spec == olga.email)


def test_registering_takes_over_a_passwordless_customer_record_from_a_guest_ticket(app):
    guest = accounts.find_or_create_customer("olga@example.test", "Olga")
    db.session.commit()

    register(email="olga@example.test")

    assert user_by("olga@example.test").id == guest.id and user_by("olga@example.test").is_active


# --------------------------------------------------------------------------- staff

def test_staff_never_log_in_through_a_provider(app, agent, smtp):
    with pytest.raises(social.StaffRefused):
        social.sign_in_with("example", claims(email="agent@example.test"))
    # Unverified: the same page as anyone's, and no mail.
    assert social.sign_in_with("example", claims(email="agent@example.test", verified=False)).kind == "check-mail"
    assert identity() is None and smtp.messages == []


def test_a_linked_customer_made_staff_can_no_longer_log_in_through_the_provider(app, customer):
    social.sign_in_with("example", claims())
    user_by("carla@example.test").role = "agent"
    db.session.commit()

    with pytest.raises(social.StaffRefused):
        social.sign_in_with("example", claims())


# --------------------------------------------------------------------------- unlinking

def test_the_last_way_to_log_in_cannot_be_unlinked_without_a_password(app):
    register(email="olga@example.test")
    olga = user_by("olga@example.test")
    [only] = social.identities_of(olga, olga)

    with pytest.raises(social.LastWayToLogIn):
        social.unlink_identity(olga, olga, only.id)
    social.sign_in_with("facebook", claims(email="olga@example.test", subject="fb-1"))
    social.unlink_identity(olga, olga, only.id)

    assert [i.provider for i in social.identities_of(olga, olga)] == ["facebook"]
    assert social.sign_in_with("example", claims(email="olga@example.test")).kind == "logged-in"  # links again


def test_a_login_with_a_password_may_unlink_every_identity(app, customer):
    social.sign_in_with("example", claims())
    [linked] = social.identities_of(customer, customer)

    social.unlink_identity(customer, customer, linked.id)

    assert social.identities_of(customer, customer) == []


def test_nobody_unlinks_someone_elses_identity(app, customer, make_user):
    social.sign_in_with("example", claims())
    dora = make_user("customer", email="dora@example.test")
    [carlas] = social.identities_of(customer, customer)

    with pytest.raises(NotFound):
        social.unlink_identity(dora, dora, carlas.id)
    assert identity() is not None
