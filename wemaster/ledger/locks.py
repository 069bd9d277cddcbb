"""Row locks on ledger accounts, always taken in primary-key order (fixed order prevents deadlocks)."""

from collections.abc import Iterable

from wemaster.ledger.models import Account, Hold


def lock_accounts(account_ids: Iterable[int]) -> dict[int, Account]:
    """SELECT ... FOR UPDATE the accounts in ascending id order. Call inside transaction.atomic."""
    ids = sorted(set(account_ids))
    locked = {account.id: account for account in Account.objects.select_for_update().filter(id__in=ids).order_by("id")}
    missing = set(ids) - set(locked)
    if missing:
        raise Account.DoesNotExist(f"ledger accounts {sorted(missing)} do not exist")
    return locked


def lock_hold(hold_id: int) -> Hold:
    """Lock one hold row. Holds are locked before their accounts, everywhere."""
    return Hold.objects.select_for_update().get(pk=hold_id)
