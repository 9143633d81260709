"""External systems of real-name authentication other than its own table.

* ``PolicyProvider``: the versioned policy document through Powertools Parameters: ``LayerFileProvider`` (a
  ``BaseProvider`` over ``shared/realname/policy.json`` in the layer, or another file) or Powertools'
  ``AppConfigProvider`` (``REALNAME_POLICY_SOURCE=appconfig``: the profile declared in template.yaml). Cached
  per container for ``REALNAME_POLICY_CACHE_SECONDS``; a malformed document fails closed (an error, never a
  silent default).
* ``TableIdentityAuthority``: the embedded authoritative identity-photo store (a DynamoDB table standing for
  the authority, like §3's ``TableRegistry``; locally seeded from package photos by ``local_stack``);
  ``HttpIdentityAuthority``: an authority over HTTPS (short timeout, response validated like user input).
* ``LedgerPresetSources``: the caller's phone from their account (the ledger's service); bound cards' holders
  and contacts are empty until bank binding (§6) and a contact list exist (the signals profile counts
  contacts, it does not list them).
* ``SignalsNotConnected``: the ``RiskSignals`` port until the signals store (issue 10) is merged: an empty
  snapshot marked ``source="none"`` (no profile risk, never trusted), recorded as such on every session.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.parameters import BaseProvider
from pydantic import ValidationError

from shared.dynamo import Repository, from_item
from shared.realname.models import AuthorityIdentity, RequestContext, SignalsSnapshot
from shared.realname.policy import Policy
from shared.realname.settings import RealNameSettings


class PolicyError(RuntimeError):
    """The policy document is missing or malformed: a deployment error (fails closed)."""


class LayerFileProvider(BaseProvider):
    """Powertools Parameters provider over files (the policy document shipped in the layer)."""

    def _get(self, name: str, **_: Any) -> str:
        return Path(name).read_text()

    def _get_multiple(self, path: str, **_: Any) -> dict[str, str]:
        return {p.name: p.read_text() for p in Path(path).glob("*.json")}


class PolicyProvider:
    def __init__(self, settings: RealNameSettings) -> None:
        self.settings = settings
        self._file = LayerFileProvider()
        self._appconfig: Any = None

    def current(self) -> Policy:
        s = self.settings
        try:
            if s.realname_policy_source == "appconfig":
                if self._appconfig is None:
                    from aws_lambda_powertools.utilities.parameters import AppConfigProvider

                    self._appconfig = AppConfigProvider(environment=s.realname_appconfig_environment,
                                                        application=s.realname_appconfig_application)
                raw: Any = self._appconfig.get(s.realname_appconfig_profile, max_age=s.realname_policy_cache_seconds)
            else:
                raw = self._file.get(s.realname_policy_file, max_age=s.realname_policy_cache_seconds)
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            return Policy.model_validate_json(text)
        except (OSError, ValidationError, ValueError) as exc:
            raise PolicyError(f"the real-name policy document is unusable: {type(exc).__name__}") from exc


class TableIdentityAuthority(Repository):
    """Items: ``IDENTITY#<ref>`` {name, id_number, photo (binary)}, ``PHONE#<e164>`` {refs},
    ``IDNUMBER#<id number>`` {ref}. Read-only here (local seeding: ``local_stack/realname_demo.py``)."""

    def __init__(self, table: str, client: Any = None) -> None:
        super().__init__(client)
        self.table = table

    def _item(self, pk: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.table, Key={"pk": {"S": pk}}).get("Item")
        return from_item(item) if item else None

    def by_phone(self, phone: str) -> list[str]:
        item = self._item(f"PHONE#{phone}")
        return [str(r) for r in item.get("refs", [])] if item else []

    def get(self, identity_ref: str) -> AuthorityIdentity | None:
        item = self._item(f"IDENTITY#{identity_ref}")
        if not item:
            return None
        return AuthorityIdentity(identity_ref=identity_ref, name=item["name"], id_number=item["id_number"],
                                 photo=bytes(item["photo"]))

    def by_id_number(self, id_number: str) -> AuthorityIdentity | None:
        item = self._item(f"IDNUMBER#{id_number.strip().upper()}")
        return self.get(str(item["ref"])) if item else None


class AuthorityUnavailable(RuntimeError):
    """The authority did not answer usably (a 5xx to the client is avoided by the caller's retry policy)."""


class HttpIdentityAuthority:
    """``GET {base}/identities?phone=`` -> ``{"refs": [...]}``; ``GET {base}/identities/{ref}`` and
    ``GET {base}/identities?id_number=`` -> ``{"ref", "name", "id_number", "photo"}`` (photo base64)."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _get(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=self.timeout) as resp:  # noqa: S310
                return json.loads(resp.read(4 * 1024 * 1024))
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise AuthorityUnavailable(f"authority answered {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise AuthorityUnavailable(type(exc).__name__) from exc

    def _identity(self, data: Any) -> AuthorityIdentity | None:
        import base64

        if data is None:
            return None
        try:
            return AuthorityIdentity(identity_ref=str(data["ref"]), name=str(data["name"]),
                                     id_number=str(data["id_number"]), photo=base64.b64decode(data["photo"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise AuthorityUnavailable("malformed identity") from exc

    def by_phone(self, phone: str) -> list[str]:
        data = self._get("/identities?" + urllib.parse.urlencode({"phone": phone}))
        refs = data.get("refs") if isinstance(data, dict) else []
        return [str(r) for r in refs or []]

    def get(self, identity_ref: str) -> AuthorityIdentity | None:
        return self._identity(self._get("/identities/" + urllib.parse.quote(identity_ref, safe="")))

    def by_id_number(self, id_number: str) -> AuthorityIdentity | None:
        return self._identity(self._get("/identities?" + urllib.parse.urlencode({"id_number": id_number})))


class LedgerPresetSources:
    def __init__(self, accounts: Any) -> None:
        self.accounts = accounts  # shared.ledger's AccountService

    def phone_of(self, user_id: str) -> str | None:
        from shared.ledger.errors import AccountNotFound

        try:
            return self.accounts.my_account(user_id).phone  # type: ignore[no-any-return]
        except AccountNotFound:
            return None

    def card_holder_id_numbers(self, user_id: str) -> list[str]:
        return []

    def contact_phones(self, user_id: str) -> list[str]:
        return []


class SignalsNotConnected:
    def snapshot(self, user_id: str, context: RequestContext, policy: Policy) -> SignalsSnapshot:
        return SignalsSnapshot(source="none")
