"""``pq.accounts``: the social accounts connected to PostQued."""

from __future__ import annotations

from postqued_async._enums import Platform
from postqued_async._errors import (
    AccountNotFoundError,
    UnexpectedResponseError,
    ValidationError,
)
from postqued_async._models import PlatformAccount, structure
from postqued_async._routes import Routes
from postqued_async._transport import Transport

__all__ = ["AccountsResource"]


class AccountsResource:
    """List connected platform accounts and find one by username."""

    def __init__(self, transport: Transport, routes: Routes) -> None:
        self._transport = transport
        self._routes = routes

    async def list(
        self, platform: Platform | str | None = None
    ) -> list[PlatformAccount]:
        """The connected accounts, optionally of one platform only.

        Raises:
            ValidationError: ``platform`` is not one the API knows.
            APIError: the API refused the call.
        """
        query = None
        if platform is not None:
            query = {"platform": Platform.parse(platform, "platform").value}
        response = await self._transport.request(
            self._routes.accounts_list, query=query
        )
        body = response.body
        accounts = body.get("accounts") if isinstance(body, dict) else None
        if not isinstance(accounts, list):
            raise UnexpectedResponseError(
                "the API answered the accounts list without an 'accounts' list; "
                "upgrade postqued-async, or report it with the request id "
                f"{response.request_id}"
            )
        return [structure(account, PlatformAccount) for account in accounts]

    async def get(
        self, username: str, *, platform: Platform | str | None = None
    ) -> PlatformAccount:
        """The account with this username (case-insensitive, ``@`` optional).

        Raises:
            AccountNotFoundError: no connected account has that username; the
                message lists the usernames there are.
        """
        if not isinstance(username, str) or not username.strip().lstrip("@"):
            raise ValidationError(
                f"username must be a non-empty string, not {username!r}"
            )
        wanted = username.strip().lstrip("@").casefold()
        accounts = await self.list(platform)
        matches = [a for a in accounts if a.username.casefold() == wanted]
        if len(matches) == 1:
            return matches[0]
        if matches:
            platforms = ", ".join(sorted(a.platform.value for a in matches))
            raise ValidationError(
                f"{username!r} is connected on several platforms ({platforms}); "
                "say which with platform=..."
            )
        where = f" on {Platform.parse(platform, 'platform').value}" if platform else ""
        known = ", ".join(sorted(a.username for a in accounts)) or "none"
        raise AccountNotFoundError(
            f"no connected account{where} has the username {username!r}; "
            f"connected: {known}. Connect it in PostQued or fix the name",
            username=username,
        )
