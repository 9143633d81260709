"""Real-name authentication with face (SPEC §5, patent CN112836612A): risk and trust control under a versioned
policy, a 1:N proposed identity the user confirms, typed-identity 1:1 fallback, lockout, and the account's
real-name record that other capabilities read (``services.directory.RealNameDirectory``)."""
