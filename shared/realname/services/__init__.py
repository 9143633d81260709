"""Real-name services: sessions (the flow), lockout, the authoritative references, the directory others read."""

from shared.realname.services.directory import RealNameDirectory
from shared.realname.services.lockout import Lockout
from shared.realname.services.sessions import RealNameSessionService

__all__ = ["Lockout", "RealNameDirectory", "RealNameSessionService"]
