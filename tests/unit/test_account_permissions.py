"""What a member who manages members may give (issue 18): an owner gives anything, a manager who is no owner only
what they have and never ownership; unknown permissions are refused beside the field."""
from helpdesk.accounts.members import check_grant, granted
from helpdesk.accounts.models import PERM_BILLING, PERM_MEMBERS, PERM_TICKETS, PERM_VAULT_VIEW, PERMISSIONS, Membership


def manager(**flags):
    return Membership(is_owner=flags.pop("owner", False), **{f"can_{p}": flags.get(p, False) for p in PERMISSIONS})


def test_an_owner_gives_every_permission_and_ownership():
    errors = {}
    assert check_grant(errors, manager(owner=True), list(PERMISSIONS), owner=True) == list(PERMISSIONS)
    assert errors == {}


def test_staff_give_anything():
    errors = {}
    assert check_grant(errors, None, [PERM_VAULT_VIEW, PERM_TICKETS], owner=True) == [PERM_TICKETS, PERM_VAULT_VIEW]
    assert errors == {}


def test_a_manager_who_is_no_owner_gives_only_what_they_have():
    anna = manager(tickets=True, members=True)
    errors = {}
    check_grant(errors, anna, [PERM_TICKETS, PERM_MEMBERS])
    assert errors == {}
    check_grant(errors, anna, [PERM_TICKETS, PERM_BILLING])
    assert "permissions" in errors


def test_a_manager_who_is_no_owner_never_makes_an_owner():
    errors = {}
    check_grant(errors, manager(tickets=True, members=True), [PERM_TICKETS], owner=True)
    assert "owner" in errors


def test_an_unknown_permission_is_refused():
    errors = {}
    check_grant(errors, None, [PERM_TICKETS, "root"])
    assert "permissions" in errors


def test_an_owner_is_granted_everything_whatever_the_flags():
    assert granted(manager(owner=True)) == list(PERMISSIONS)
    assert granted(manager(billing=True)) == [PERM_BILLING]
