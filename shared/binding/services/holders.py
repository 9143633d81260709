"""The holders of a user's bound cards, as real-name authentication (§5) reads them (its ``CardHolders`` port):
the ID numbers binding keeps envelope-encrypted on each ACTIVE, activated binding (context: binding id + owner)."""

from __future__ import annotations

from shared.binding.models import BindingStatus
from shared.binding.ports import BindingStore, Cipher
from shared.crypto import CryptoError
from shared.observability import logger


def holder_context(binding_id: str, owner: str) -> dict[str, str]:
    return {"binding_id": binding_id, "owner": owner, "field": "holder_id_number"}


class CardHolderService:
    def __init__(self, store: BindingStore, cipher: Cipher) -> None:
        self.store = store
        self.cipher = cipher

    def holder_id_numbers(self, owner: str) -> list[str]:
        """Distinct ID numbers of the holders of the owner's BOUND cards (pending, failed and unbound bindings
        give none). A value that does not decrypt is skipped and logged by binding id: the candidate set is then
        smaller, which only sends the user to the typed identity."""
        found: list[str] = []
        for binding in self.store.list_bindings(owner):
            if binding.status is not BindingStatus.ACTIVE or not binding.activated or not binding.holder_id_encrypted:
                continue
            try:
                number = self.cipher.decrypt(binding.holder_id_encrypted,
                                             holder_context(binding.binding_id, binding.owner)).decode()
            except CryptoError:
                logger.warning("card holder id does not decrypt", extra={"binding_id": binding.binding_id})
                continue
            if number not in found:
                found.append(number)
        return found
