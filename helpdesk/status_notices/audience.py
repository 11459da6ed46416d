"""Who a notice affects: the customers with an active or suspended service of an affected product, or with an
affected service (billing's services; devices will join here). Reads only; jobs and the banner use them."""
import sqlalchemy as sa

from helpdesk.accounts.models import User
from helpdesk.billing.models import SERVICE_ACTIVE, SERVICE_SUSPENDED, BillingAccount, Service
from helpdesk.extensions import db
from helpdesk.status_notices.models import AFFECTS_PRODUCT, AFFECTS_SERVICE, StatusNoticeAffect

LIVE_SERVICE = (SERVICE_ACTIVE, SERVICE_SUSPENDED)


def _affected_services():
    """(notice_id, service id, its account) for every live service some notice affects."""
    hit = sa.or_(
        sa.and_(StatusNoticeAffect.kind == AFFECTS_PRODUCT, StatusNoticeAffect.target_id == Service.product_id),
        sa.and_(StatusNoticeAffect.kind == AFFECTS_SERVICE, StatusNoticeAffect.target_id == Service.id),
    )
    return (sa.select(StatusNoticeAffect.notice_id, BillingAccount.user_id)
            .select_from(StatusNoticeAffect)
            .join(Service, hit)
            .join(BillingAccount, Service.account_id == BillingAccount.id)
            .where(Service.status.in_(LIVE_SERVICE)))


def notices_affecting(user, notice_ids) -> set[int]:
    """Those of ``notice_ids`` that affect ``user`` (a customer) through one of their live services."""
    if not notice_ids or user is None or getattr(user, "id", None) is None:
        return set()
    query = _affected_services().where(StatusNoticeAffect.notice_id.in_(list(notice_ids)),
                                       BillingAccount.user_id == user.id)
    return {notice_id for notice_id, _user_id in db.session.execute(query)}


def affected_users(notice, *, after_user_id=0, limit=200) -> list[User]:
    """The active customers ``notice`` affects, by id, from after ``after_user_id`` (a job's chunks)."""
    ids = (_affected_services().where(StatusNoticeAffect.notice_id == notice.id,
                                      BillingAccount.user_id > after_user_id)
           .with_only_columns(BillingAccount.user_id).distinct().subquery())
    return db.session.scalars(sa.select(User).where(User.id.in_(sa.select(ids.c.user_id)), User.active.is_(True))
                              .order_by(User.id).limit(limit)).all()


def affected_count(notice) -> int:
    """How many customers ``notice`` affects (the console shows it)."""
    ids = (_affected_services().where(StatusNoticeAffect.notice_id == notice.id)
           .with_only_columns(BillingAccount.user_id).distinct().subquery())
    return db.session.scalar(sa.select(sa.func.count()).select_from(ids))
