"""E-voucher campaigns (SPEC §2): interactions, pass-on pool, pool-first claims, key users, the draw."""
