"""The I/O-free half of the subscriptions both WebSocket clients own: what a subscription holds
(its filters, Kuzzle's ``roomId`` and ``channel``, its gaps), the request that makes it, how
Kuzzle's ``TokenExpired`` notification and a node shutting down read, and what a failed
resubscription means. The clients do the sending, the waiting and the calling back.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any, Final, Literal

from kuzzle_errors._redact import one_line, shown
from kuzzle_errors.exceptions import (
    AuthenticationRequiredError,
    KuzzleError,
    TransportError,
    replace,
)
from kuzzle_errors.parser import parse_response

#: The refusals of a node that is leaving (SIGTERM): it deleted every subscription and answers
#: nothing more; Kuzzle 2.56 answers network clients the first, the funnel the second.
SHUTTING_DOWN_IDS: Final = ("network.entrypoint.shutting_down", "api.process.shutting_down")

#: A subscription no token refusal holds back (else ``_refused_jwt`` is the refused token).
NO_REFUSAL: Final = object()


@dataclasses.dataclass(frozen=True)
class Gap:
    """A time a subscription was not subscribed: Kuzzle's notifications of then are lost.

    ``start`` and ``end`` are :func:`time.time` seconds (``end`` is None while the gap lasts);
    re-read what may have changed between them.
    """

    start: float
    end: float | None
    why: str

    @property
    def seconds(self) -> float | None:
        """How long the gap lasted (None while it lasts)."""
        return None if self.end is None else self.end - self.start


Verdict = Literal["retry", "login", "final"]


def verdict(error: KuzzleError) -> Verdict:
    """What a failed resubscription means: ``retry`` on another connection (the connection
    failed, or the node is leaving), ``login`` (the token is refused: restored after a login),
    or ``final`` (Kuzzle refused the subscription itself: its filters, the user's rights)."""
    if isinstance(error, TransportError) or error.matches(*SHUTTING_DOWN_IDS):
        return "retry"
    if isinstance(error, AuthenticationRequiredError):
        return "login"
    return "final"


def is_token_expired(notification: Mapping[str, Any]) -> bool:
    """Kuzzle's ``TokenExpired`` server notification (its subscriptions are gone)."""
    return notification.get("type") == "TokenExpired"


def token_expired_error(url: str, notification: Mapping[str, Any]) -> KuzzleError:
    """The error every subscription is told when Kuzzle says the token expired.

    Kuzzle 2.56 answers the next request with this token 401 ``security.token.invalid``: the
    same error, an :class:`~kuzzle_errors.AuthenticationRequiredError`.
    """
    message = notification.get("message")
    error = parse_response(
        {
            "status": 401,
            "error": {
                "id": "security.token.invalid",
                "status": 401,
                "message": message if isinstance(message, str) else "Authentication Token Expired",
            },
        },
        transport="websocket",
    )
    assert error is not None
    return replace(
        error,
        problem="Kuzzle said the token expired (TokenExpired) and dropped the subscriptions of the "
        "socket: log in again (on_token_expired), the subscriptions are then restored",
    )


class SubscriptionState:
    """What both clients' ``Subscription`` hold, besides their notification queue.

    ``state`` is ``"active"`` (subscribed: :attr:`channel` is Kuzzle's), ``"lost"`` (the
    connection dropped, the node left or the token expired: being restored, :attr:`gaps` ends
    with an open gap) or ``"ended"`` (unsubscribed, the client closed, or Kuzzle refused to
    subscribe it again: :attr:`error` says why).
    """

    index: str
    collection: str
    filters: dict[str, Any]
    options: dict[str, Any]

    def __init__(
        self,
        client: Any,
        index: str,
        collection: str,
        filters: Mapping[str, Any],
        options: Mapping[str, Any],
        on_notification: Any,
        on_error: Any,
        max_queued: int,
    ) -> None:
        if on_notification is not None and on_error is None:
            # A callback user would never hear that the subscription is lost for good.
            raise ValueError("on_notification needs on_error too: a lost subscription must be told")
        self.index = index
        self.collection = collection
        self.filters = dict(filters)
        self.options = dict(options)
        self.on_notification = on_notification
        self.on_error = on_error
        #: Kuzzle's room id and channel of the subscription (new ones after each restore).
        self.room_id: str | None = None
        self.channel: str | None = None
        self.state: Literal["new", "active", "lost", "ended"] = "new"
        #: Each time the subscription was lost, oldest first.
        self.gaps: list[Gap] = []
        #: The last error the subscription was told (None: none).
        self.error: KuzzleError | None = None
        self._refused_jwt: object = NO_REFUSAL
        #: The connection Kuzzle's last answer to its subscribe request came on.
        self._answered_on: Any = None
        self._client = client
        # The notification queue: the client's set of live subscriptions holds it until it ends.
        super().__init__(client._subs, max_queued)  # type: ignore[call-arg]

    def _abandon(self) -> None:
        """The subscribe request failed: the subscription never was."""
        self.state = "ended"
        self.put(None)  # type: ignore[attr-defined]  # the notification queue's

    def request(self) -> dict[str, Any]:
        """The ``realtime:subscribe`` request of this subscription."""
        return {
            "controller": "realtime",
            "action": "subscribe",
            "index": self.index,
            "collection": self.collection,
            "body": self.filters,
            **self.options,
        }

    @property
    def active(self) -> bool:
        """True while Kuzzle sends this subscription's notifications."""
        return self.state == "active"

    def _subscribed(self, result: object) -> Gap | None:
        """Kuzzle answered the subscribe request: the gap this ends, if any."""
        if not isinstance(result, Mapping) or not isinstance(result.get("channel"), str):
            raise KuzzleError(
                "realtime:subscribe answered no channel", problem="no channel in the result"
            )
        self.room_id = result.get("roomId") if isinstance(result.get("roomId"), str) else None
        self.channel = result["channel"]
        self.state = "active"
        if self.gaps and self.gaps[-1].end is None:
            self.gaps[-1] = dataclasses.replace(self.gaps[-1], end=time.time())
            return self.gaps[-1]
        return None

    def _lost(self, why: str) -> bool:
        """Kuzzle no longer has the subscription; False if it was not active."""
        if self.state != "active":
            return False
        self.state, self.channel = "lost", None
        self.gaps.append(Gap(time.time(), None, why))
        return True

    @property
    def shown(self) -> str:
        """``index/collection`` as log lines show it (one line, bounded)."""
        return one_line(f"{shown(self.index) or ''}/{shown(self.collection) or ''}")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.index!r}, {self.collection!r}, {self.state}, "
            f"channel={self.channel!r})"
        )
