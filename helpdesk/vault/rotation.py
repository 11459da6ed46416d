"""``helpdesk vault rotate-key``: seal again with the current key every value still sealed with an older one, in
small batches, each its own transaction. Readers keep working throughout (a value names the key that opens it);
a run stopped half way is simply run again (values under the current key are left alone), and once a run reports
nothing left under a key, that key can be removed from VAULT_KEYS."""
import logging
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from helpdesk.db import begin_write
from helpdesk.extensions import db
from helpdesk.vault import keys
from helpdesk.vault.crypto import CannotOpen, UnknownKey, VaultKeyError, key_id_of  # noqa: F401 (for callers)
from helpdesk.vault.models import SEALED_FIELDS, VaultEntry

log = logging.getLogger(__name__)

BATCH_SIZE = 100


@dataclass
class Rotation:
    """What a run did: entries looked at, values sealed again (by the key they were under), values that did not
    open (by key id: a key missing from VAULT_KEYS, or an altered value), and the key now current."""

    current_key: str = ""
    older_keys: tuple = ()
    entries: int = 0
    batches: int = 0
    resealed: Counter = field(default_factory=Counter)
    unreadable: Counter = field(default_factory=Counter)

    @property
    def done(self) -> bool:
        return not self.unreadable


def _reseal_batch(ring, after_id, batch_size, report) -> int | None:
    """Seal again the stale values of the next ``batch_size`` entries after ``after_id`` and commit; the last id
    looked at, None when there were no more."""
    begin_write(db.session)
    entries = db.session.scalars(sa.select(VaultEntry).where(VaultEntry.id > after_id).order_by(VaultEntry.id)
                                 .limit(batch_size).with_for_update()).all()
    if not entries:
        db.session.rollback()
        return None
    for entry in entries:
        for name in SEALED_FIELDS:
            token = entry.sealed(name)
            if token is None or ring.is_current(token):
                continue
            place = keys.place(entry.id, entry.account_id, name)
            try:
                entry.set_sealed(name, ring.seal(ring.open(token, place), place))
            except (UnknownKey, CannotOpen):
                log.error("vault entry %s: the %s does not open with key %r; left as it is", entry.id, name,
                          key_id_of(token))
                report.unreadable[key_id_of(token) or "?"] += 1
                continue
            report.resealed[key_id_of(token)] += 1
    report.entries += len(entries)
    report.batches += 1
    last = entries[-1].id
    db.session.commit()
    return last


def rotate_key(batch_size=BATCH_SIZE, progress=None) -> Rotation:
    """Seal every value under an older key with the current key (the first of VAULT_KEYS), ``batch_size``
    entries per transaction; ``progress(report)`` after each batch. VaultKeyError when the keys cannot be used."""
    ring = keys.keyring_for(current_app.config)
    report = Rotation(current_key=ring.current_id, older_keys=ring.key_ids[1:])
    last = 0
    while (last := _reseal_batch(ring, last, batch_size, report)) is not None:
        if progress is not None:
            progress(report)
    return report


def keys_in_use() -> Counter:
    """How many stored values each key id seals (to tell whether an old key can go)."""
    counts = Counter()
    columns = [getattr(VaultEntry, f"{name}_sealed") for name in SEALED_FIELDS]
    last = 0
    while True:
        rows = db.session.execute(sa.select(VaultEntry.id, *columns).where(VaultEntry.id > last)
                                  .order_by(VaultEntry.id).limit(1000)).all()
        if not rows:
            return counts
        for row in rows:
            counts.update(key_id_of(token) for token in row[1:] if token is not None)
        last = rows[-1][0]



def report_lines(report: Rotation) -> list[str]:
    """The run in lines for the operator: counts per key, and which older keys no value needs any more."""
    lines = [f"current key: {report.current_key}; {report.entries} entries looked at in {report.batches} batch(es)"]
    for key_id, count in sorted(report.resealed.items()):
        lines.append(f"{count} value(s) sealed again from key {key_id} to key {report.current_key}")
    if not report.resealed:
        lines.append("no value was under an older key")
    for key_id, count in sorted(report.unreadable.items()):
        lines.append(f"{count} value(s) under key {key_id} did not open (the key is not in VAULT_KEYS, or the "
                     "stored value was altered): left as they were, see the log for the entries")
    in_use = keys_in_use()
    unused = [key_id for key_id in report.older_keys if not in_use[key_id]]
    if unused and report.done:
        lines.append(f"no value is sealed with {', '.join(unused)} any more: remove it from VAULT_KEYS")
    return lines
