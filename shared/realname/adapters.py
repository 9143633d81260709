"""External systems of real-name authentication other than its own table.

* ``PolicyProvider``: the versioned policy document through Powertools Parameters: ``LayerFileProvider`` (a
  ``BaseProvider`` over ``shared/realname/policy.json`` in the layer, or another file) or Powertools'
  ``AppConfigProvider`` (``REALNAME_POLICY_SOURCE=appconfig``: the profile declared in template.yaml). Cached
  per container for ``REALNAME_POLICY_CACHE_SECONDS``; a malformed document fails closed (an error, never a
  silent default).
* ``TableIdentityAuthority``: the embedded authoritative identity-photo store (a DynamoDB table standing for
  the authority, like §3's ``TableRegistry``; locally seeded from package photos by ``local_stack``);
  ``HttpIdentityAuthority``: an authority over HTTPS (short timeout, response validated like user input).
* ``LedgerPresetSources``: the preset identity set's keys: the caller's phone (their account, through the
  ledger's service), the phones of their contacts (contact account ids from the signals store, phones from the
  ledger's accounts) and the ID numbers of their bound cards' holders (``CardHolders``: ``BindingCardHolders`` over
  bank binding, §6, where the function reads binding's table; ``NoBoundCards`` elsewhere).
* ``ProfileSignals``: ``RiskSignals`` and ``ProfileWriter`` over the signals store's ``SignalsReader`` and
  ``SignalsWriter`` (issue 10): the user's activity profile, the device index, ``REAL_NAME`` attempts per area
  cell and IP prefix; it records each attempt into those indexes and writes the profile's ``real_name``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.parameters import BaseProvider
from pydantic import ValidationError

from shared.dynamo import Repository, from_item
from shared.realname.models import AuthorityIdentity, DeviceSignals, RequestContext, SignalsSnapshot
from shared.realname.policy import Policy
from shared.realname.ports import CardHolders
from shared.realname.settings import RealNameSettings
from shared.signals.models import ActivityProfile, AttemptKind, Place, RealName
from shared.signals.ports import SignalsReader, SignalsWriter
from shared.writes import GuardedWrite


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


class NoBoundCards:
    """``CardHolders`` of a function that does not read bank binding's table (no ``BINDINGS_TABLE``): no holders."""

    def holder_id_numbers(self, user_id: str) -> list[str]:
        return []


class BindingCardHolders:
    """``CardHolders`` over bank binding (§6): ``holders`` is binding's ``CardHolderService`` (built by
    ``shared.binding.wiring.card_holders``): the ID numbers of the holders of the user's BOUND cards, decrypted
    from the envelope binding keeps on each binding (never logged, never returned to the client)."""

    def __init__(self, holders: CardHolders) -> None:
        self.holders = holders

    def holder_id_numbers(self, user_id: str) -> list[str]:
        return self.holders.holder_id_numbers(user_id)


class LedgerPresetSources:
    """``PresetIdentitySources``: ``accounts`` is the ledger's ``AccountService`` (the account's phone, contacts'
    accounts), ``contacts`` the signals reader (contact account ids), ``cards`` the binding port."""

    def __init__(self, accounts: Any, contacts: SignalsReader, cards: CardHolders) -> None:
        self.accounts = accounts
        self.contacts = contacts
        self.cards = cards

    def phone_of(self, user_id: str) -> str | None:
        from shared.ledger.errors import AccountNotFound

        try:
            return self.accounts.my_account(user_id).phone  # type: ignore[no-any-return]
        except AccountNotFound:
            return None

    def card_holder_id_numbers(self, user_id: str) -> list[str]:
        return self.cards.holder_id_numbers(user_id)

    def contact_phones(self, user_id: str, limit: int) -> list[str]:
        account_ids = self.contacts.contacts(user_id, limit) if limit > 0 else []
        if not account_ids:
            return []
        found = self.accounts.ledger.store.get_accounts(account_ids)
        return [str(found[a].phone) for a in account_ids if a in found and found[a].phone]


class ProfileSignals:
    """``RiskSignals`` + ``ProfileWriter`` over the signals store (see the module docstring)."""

    def __init__(self, reader: SignalsReader, writer: SignalsWriter) -> None:
        self.reader = reader
        self.writer = writer

    def _place(self, context: RequestContext) -> Place:
        return self.reader.place_of(context.lat, context.lon, context.source_ip)

    def _device(self, profile: ActivityProfile, context: RequestContext, policy: Policy) -> DeviceSignals:
        device = profile.device(context.device_id)
        accounts = self.reader.accounts_on_device(context.device_id,
                                                  timedelta(days=policy.risk.device_window_days))
        return DeviceSignals(device_id=context.device_id, known=device is not None,
                             emulator=bool(device and device.emulator), rooted=bool(device and device.rooted),
                             trusted=bool(device and device.trusted),
                             accounts_on_device=len(set(accounts) | {profile.user_id}))

    def _area(self, place: Place, policy: Policy) -> tuple[int, int]:
        window = timedelta(seconds=policy.risk.area_window_seconds)
        cell = self.reader.attempts_in_cell(place.cell, window, AttemptKind.REAL_NAME).count if place.cell else 0
        prefix = self.reader.attempts_from_prefix(place.ip_prefix, window, AttemptKind.REAL_NAME).count \
            if place.ip_prefix else 0
        return cell, prefix

    def snapshot(self, user_id: str, context: RequestContext, policy: Policy) -> SignalsSnapshot:
        profile = self.reader.profile(user_id)
        place = self._place(context)
        cell_attempts, prefix_attempts = self._area(place, policy)
        usual = policy.trust.location_min_sign_ins
        return SignalsSnapshot(
            source="signals", tags=tuple(sorted(t.value for t in profile.tags)), login_count=profile.login_count,
            contacts=profile.counterparties,
            transactions=sum(profile.by_type[t].count for t in policy.trust.transaction_types if t in profile.by_type),
            bindings=profile.bindings.count,
            known_cells=tuple(c.cell for c in profile.cells if c.count >= usual),
            known_prefixes=tuple(p.prefix for p in profile.ip_prefixes if p.count >= usual),
            device=self._device(profile, context, policy), current_cell=place.cell, current_prefix=place.ip_prefix,
            cell_attempts=cell_attempts, prefix_attempts=prefix_attempts)

    def record_attempt(self, user_id: str, context: RequestContext, attempt_id: str | None = None) -> None:
        self.writer.record_attempt(AttemptKind.REAL_NAME, user_id, context.device_id, self._place(context),
                                   attempt_id=attempt_id)

    def real_name_write(self, user_id: str, real_name: RealName) -> GuardedWrite:
        return self.writer.real_name_write(user_id, real_name)
