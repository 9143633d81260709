"""Bank-initiated account binding (SPEC §6): partners, signed requests (RFC 9421), the binding saga, user bindings
and the first-use security authentication gate."""
