"""Coarse places and networks: geohash cells for coordinates, prefixes for IP addresses.

Exact coordinates and addresses are personal data and are not needed by any rule: the profile keeps a
geohash cell (``encode(lat, lon, 5)`` ≈ 4.9 km by 4.9 km for the cross-user area index, 6 ≈ 1.2 km for the
last location) and the /24 (IPv4) or /48 (IPv6) network of an address.
"""

from __future__ import annotations

import ipaddress

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"


def encode(lat: float, lon: float, precision: int) -> str:
    """The geohash of a point (standard base-32 alphabet)."""
    lat_lo, lat_hi, lon_lo, lon_hi = -90.0, 90.0, -180.0, 180.0
    out: list[str] = []
    bits, value, even = 0, 0, True
    while len(out) < precision:
        if even:
            mid = (lon_lo + lon_hi) / 2
            value = value * 2 + (lon >= mid)
            lon_lo, lon_hi = (mid, lon_hi) if lon >= mid else (lon_lo, mid)
        else:
            mid = (lat_lo + lat_hi) / 2
            value = value * 2 + (lat >= mid)
            lat_lo, lat_hi = (mid, lat_hi) if lat >= mid else (lat_lo, mid)
        even = not even
        bits += 1
        if bits == 5:
            out.append(_BASE32[value])
            bits, value = 0, 0
    return "".join(out)


def centre(cell: str) -> tuple[float, float]:
    """The centre (lat, lon) of a geohash cell, rounded to 4 decimals."""
    lat_lo, lat_hi, lon_lo, lon_hi = -90.0, 90.0, -180.0, 180.0
    even = True
    for ch in cell:
        v = _BASE32.index(ch)
        for shift in range(4, -1, -1):
            bit = (v >> shift) & 1
            if even:
                mid = (lon_lo + lon_hi) / 2
                lon_lo, lon_hi = (mid, lon_hi) if bit else (lon_lo, mid)
            else:
                mid = (lat_lo + lat_hi) / 2
                lat_lo, lat_hi = (mid, lat_hi) if bit else (lat_lo, mid)
            even = not even
    return round((lat_lo + lat_hi) / 2, 4), round((lon_lo + lon_hi) / 2, 4)


def is_cell(value: str) -> bool:
    return 1 <= len(value) <= 12 and all(ch in _BASE32 for ch in value)


def ip_prefix(ip: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) network of an address; an IPv4-mapped IPv6 address counts as IPv4.
    Raises ``ValueError`` for anything that is not an address."""
    address = ipaddress.ip_address(ip.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    bits = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def is_prefix(value: str) -> bool:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        return False
    return net.prefixlen == (24 if net.version == 4 else 48)
