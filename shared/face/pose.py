"""Head pose from YuNet's five landmarks, in degrees: a 2D proxy, not a 3D fit.

The eye line gives roll. After removing roll, the nose tip's offset from the face's midpoint (halfway
between the eyes' centre and the mouth's centre), in units of the inter-ocular distance d, moves with yaw
and pitch because the nose stands in front of the eye/mouth plane. With the nose ``NOSE_DEPTH`` * d in
front of that plane (an average face; weak perspective): horizontal offset = NOSE_DEPTH * tan(yaw) (d itself
shrinks with cos(yaw)), vertical offset = -NOSE_DEPTH * sin(pitch). Individual faces differ, which is why the
liveness check compares every frame with the same person's frontal selfie (deltas), never absolute angles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from shared.face.models import HeadPose, Point

NOSE_DEPTH = 0.5  # nose tip in front of the eye/mouth plane, in inter-ocular distances


def head_pose(landmarks: Sequence[Point]) -> HeadPose:
    (rex, rey), (lex, ley), (nx, ny), (rmx, rmy), (lmx, lmy) = landmarks
    ex, ey = (rex + lex) / 2, (rey + ley) / 2
    vx, vy = lex - rex, ley - rey
    d = math.hypot(vx, vy)
    if d < 1e-6:
        return HeadPose(yaw=0.0, pitch=0.0, roll=0.0)
    roll = math.atan2(vy, vx)
    cos_r, sin_r = math.cos(-roll), math.sin(-roll)

    def rotate(px: float, py: float) -> tuple[float, float]:  # into the eye-line frame, eyes' centre at 0
        dx, dy = px - ex, py - ey
        return dx * cos_r - dy * sin_r, dx * sin_r + dy * cos_r

    mx, my = rotate((rmx + lmx) / 2, (rmy + lmy) / 2)
    nx_r, ny_r = rotate(nx, ny)
    horizontal = (nx_r - mx / 2) / d
    vertical = (ny_r - my / 2) / d
    yaw = math.degrees(math.atan2(horizontal, NOSE_DEPTH))
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, -vertical / NOSE_DEPTH))))
    return HeadPose(yaw=round(yaw, 2), pitch=round(pitch, 2), roll=round(math.degrees(roll), 2))
