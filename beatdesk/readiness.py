"""Whether this installation can do its work now: the store answers at this code's schema, and the broker
answers when one is configured. What /readyz reports; each check is bounded by a few seconds."""

from __future__ import annotations

import logging

import redis
from sqlalchemy.exc import SQLAlchemyError

from beatdesk.settings import Settings
from beatdesk.store import Store
from beatdesk.store.revisions import at_head

log = logging.getLogger(__name__)
BROKER_TIMEOUT_S = 2.0


def problems(settings: Settings, store: Store) -> dict[str, str]:
    """What is down, by name ("store", "migrations", "broker"), each with a short reason; {} when all is well.

    The reasons are generic (the endpoint answers without a login); the full error goes to the log."""
    found: dict[str, str] = {}
    try:
        with store.session() as session:
            if not at_head(session.connection()):
                found["migrations"] = "the database's schema is not this version's: restart to migrate it"
    except SQLAlchemyError as err:
        log.warning("readiness: the store does not answer: %s", _first_line(err))
        found["store"] = "the database does not answer"
    if settings.broker_url:
        client = redis.Redis.from_url(
            settings.broker_url, socket_connect_timeout=BROKER_TIMEOUT_S, socket_timeout=BROKER_TIMEOUT_S
        )
        try:
            client.ping()
        except (redis.RedisError, OSError) as err:
            log.warning("readiness: the broker does not answer: %s", _first_line(err))
            found["broker"] = "the broker does not answer"
        finally:
            client.close()
    return found


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err).strip()
    return text.splitlines()[0][:300] if text else type(err).__name__
