"""Reactions to ledger events (connected in WalletConfig.ready)."""

import logging

from kombu.exceptions import OperationalError as BrokerUnavailable

from wallet import selectors

logger = logging.getLogger(__name__)


def auto_reload_on_wallet_debit(sender, account_id: int, trigger: str, **kwargs) -> None:
    """Runs after the debit committed: one indexed query, then queue the reload if it is due.

    The task re-checks everything under its claim; this is only the cheap filter.
    """
    from wallet.tasks import auto_reload_run

    wallet_id = selectors.wallet_needing_reload(account_id=account_id)
    if wallet_id is None:
        return
    try:
        auto_reload_run.delay_on_commit(wallet_id, trigger)
    except BrokerUnavailable:
        # The debit already committed; a missed reload is retried by the next debit.
        logger.warning("auto-reload not queued: broker unavailable", extra={"wallet": wallet_id})
