"""User-relationship groups (family, friends) and their key users (SPEC §2 flow 4)."""
