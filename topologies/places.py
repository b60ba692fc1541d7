"""Named places that WAN links end at, and the speed of light in fibre.

A place is a cable landing or a city users connect from. Coordinates are WGS84 degrees
(public city coordinates, rounded to about 1 km); they are used for maps and for
great-circle estimates, never for latency (latency comes from the cable length).

``FIBRE_S_PER_M`` is the one-way propagation delay of light in single-mode fibre, about
4.9 µs per km (group index ≈ 1.468 of standard single-mode fibre such as Corning SMF-28 at
1550 nm; see ``docs/sources.md``, "Light in fibre").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "EARTH_RADIUS_M",
    "FIBRE_S_PER_M",
    "PLACES",
    "Place",
    "get_place",
    "great_circle_m",
]

FIBRE_S_PER_M = 4.9e-9
"""One-way propagation delay in optical fibre, s/m (4.9 µs/km)."""

EARTH_RADIUS_M = 6_371_000.0
"""Mean Earth radius, m."""


@dataclass(frozen=True)
class Place:
    """A named location: ``lat``/``lon`` in degrees, ``country`` an ISO 3166-1 alpha-2 code."""

    name: str
    lat: float
    lon: float
    country: str


PLACES: dict[str, Place] = {
    p.name: p
    for p in (
        Place("marseille", 43.2965, 5.3698, "FR"),
        Place("paris", 48.8566, 2.3522, "FR"),
        Place("bizerte", 37.2744, 9.8739, "TN"),
        Place("tunis", 36.8065, 10.1815, "TN"),
        Place("tozeur", 33.9197, 8.1335, "TN"),
        Place("casablanca", 33.5731, -7.5898, "MA"),
        Place("nouaceur", 33.3670, -7.5830, "MA"),
        Place("tetouan", 35.5785, -5.3684, "MA"),
        Place("asilah", 35.4650, -6.0349, "MA"),
        Place("nador", 35.1681, -2.9335, "MA"),
        Place("rota", 36.6167, -6.3500, "ES"),
        Place("barcelona", 41.3874, 2.1686, "ES"),
        Place("algiers", 36.7538, 3.0588, "DZ"),
    )
}
"""Known places by lower-case name."""


def get_place(name: str) -> Place:
    """The place called ``name`` (case-insensitive).

    Raises
    ------
    KeyError
        If the place is unknown; the message lists the known names.
    """
    try:
        return PLACES[name.lower()]
    except KeyError:
        known = ", ".join(sorted(PLACES))
        raise KeyError(f"unknown place {name!r}; expected one of: {known}") from None


def great_circle_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres between two points given in degrees.

    A lower bound on any cable route; real routes are typically 1.2-1.5x longer.
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))
