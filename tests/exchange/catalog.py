"""A small, realistic two-vertical network for API tests: what was bought, and what goes with it."""

from __future__ import annotations

from typing import Any

from tests.support import product

SHOES = "Apparel > Shoes > Running Shoes"
SOCKS = "Apparel > Socks > Running Socks"
ESPRESSO = "Kitchen > Coffee Makers > Espresso Machines"
PODS = "Food > Coffee > Coffee Pods"
PHONES = "Electronics > Phones > Smartphones"
CASES = "Electronics > Phone Accessories > Phone Cases"


def running_brand() -> list[dict[str, Any]]:
    """A running brand selling shoes (substitutes for a shoe purchase) and socks (complements)."""
    shoes = [
        product(f"SH-{i}", f"Trailwind {model} Road Running Shoe, Men's, Size {size}", "Trailwind", "129.00 USD", SHOES)
        for i, (model, size) in enumerate([(m, s) for m in ("Pacer", "Glide", "Tempo") for s in (9, 10, 11)])
    ]
    socks = [
        product(
            f"SO-{i}",
            f"Trailwind Merino Running Socks, {cut} Cut, 3-Pack, Size {size}",
            "Trailwind",
            "18.00 USD",
            SOCKS,
        )
        for i, (cut, size) in enumerate([(c, s) for c in ("Low", "Quarter", "Crew") for s in ("M", "L")])
    ]
    return shoes + socks


def coffee_brand() -> list[dict[str, Any]]:
    machines = [
        product(
            f"EM-{i}", f"Brewmaster {name} Espresso Machine with Milk Frother", "Brewmaster", "349.00 USD", ESPRESSO
        )
        for i, name in enumerate(("Classic", "Barista Pro", "Compact"))
    ]
    pods = [
        product(f"CP-{i}", f"Brewmaster {roast} Roast Espresso Coffee Pods, 50 Count", "Brewmaster", "24.00 USD", PODS)
        for i, roast in enumerate(("Dark", "Medium", "Light", "Decaf"))
    ]
    return machines + pods


def phone_brand() -> list[dict[str, Any]]:
    phones = [product(f"PH-{i}", f"Novaline X{i} Smartphone 128GB", "Novaline", "699.00 USD", PHONES) for i in range(3)]
    cases = [
        product(f"PC-{i}", f"Novaline X{i} Clear Shockproof Phone Case", "Novaline", "19.00 USD", CASES)
        for i in range(3)
    ]
    return phones + cases
