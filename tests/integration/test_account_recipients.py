"""Who hears about an account's devices and debts: its owners (and members with a permission when asked), with
the phone staff entered in the identity data for owners, in each login's language."""
from helpdesk.accounts.identity_models import AccountIdentity, account_recipients
from helpdesk.accounts.memberships import default_account
from helpdesk.accounts.models import PERM_SERVICES, Membership
from helpdesk.extensions import db


def test_owners_hear_with_the_identity_phone_and_members_only_with_the_permission(app, make_user):
    owner = make_user(email="owner@example.com")
    owner.locale, owner.phone = "fa", "+98 912 000 0000"
    helper = make_user(email="helper@example.com")
    helper.phone = "0912 111 2222"  # not E.164 and no region configured: no phone for SMS
    viewer = make_user(email="viewer@example.com")
    account = default_account(owner)
    db.session.add_all([Membership(account_id=account.id, user_id=helper.id, can_services=True),
                        Membership(account_id=account.id, user_id=viewer.id),
                        AccountIdentity(account_id=account.id, full_name="Sara", phone="+989121234567")])
    db.session.commit()

    owners_only = account_recipients(account.id)
    assert [(r.email, r.phone, r.locale) for r in owners_only] == [("owner@example.com", "+989121234567", "fa")]

    with_services = {r.email: r.phone for r in account_recipients(account.id, PERM_SERVICES)}
    assert with_services == {"owner@example.com": "+989121234567", "helper@example.com": None}
