"""A deterministic demo partner network: brands in verticals whose products complement each other."""

from __future__ import annotations

import random
import re
import unicodedata
from math import prod
from typing import Any, NamedTuple

import msgspec


class DemoBrand(msgspec.Struct, frozen=True):
    name: str
    domain: str
    vertical: str


class _Kind(NamedTuple):
    """One product type: how its titles, prices and descriptions are made."""

    noun: str
    product_type: str
    category: str  # a Google product taxonomy path
    price: tuple[int, int]  # USD, at scale factor 1
    leads: tuple[str, ...]
    attrs: tuple[tuple[str, ...], ...]  # "@" marks where the scale label goes
    scale: tuple[tuple[str, float], ...]
    blurbs: tuple[str, ...]
    series: bool


def _kind(
    noun: str,
    product_type: str,
    category: str,
    price: tuple[int, int],
    leads: str,
    *attrs: str,
    scale: str = "",
    blurb: str,
    series: bool = True,
) -> _Kind:
    """Options are written "a|b|c"; a scale is "label:factor|label:factor"."""
    steps = tuple((label, float(factor)) for label, factor in (s.rsplit(":", 1) for s in scale.split("|") if s))
    return _Kind(
        noun,
        product_type,
        category,
        price,
        tuple(leads.split("|")),
        tuple(tuple(a.split("|")) for a in attrs),
        steps,
        tuple(blurb.split("|")),
        series,
    )


# --- shared option lists ---

_APPAREL = "Black|Grey|Navy|White|Charcoal|Olive|Coral|Sky Blue|Burgundy|Sage Green"
_TECH = "Midnight Black|Graphite|Silver|Arctic White|Deep Blue|Sage|Rose Gold|Titanium Grey"
_OUTDOOR = "Forest Green|Slate Grey|Desert Tan|Burnt Orange|Glacier Blue|Black"
_HOME = "Stainless Steel|Matte Black|Cream|Cherry Red|Sage Green|Graphite"
_PET = "Charcoal|Oatmeal|Navy|Chocolate Brown|Heather Grey|Olive"
_BRIGHT = "Black|Red|Fluorescent Yellow|Cobalt Blue|Orange|White"
_SOFT = "Sage|Lavender|Charcoal|Sand|Ocean Blue|Terracotta|Black|Dusty Rose"
_BABY = "Black|Stone Grey|Oat|Navy|Sage|Blush"
_SIZES = "Size XS|Size S|Size M|Size L|Size XL"
_SHOE_SIZES = "|".join(f"Size {n / 2:g}" for n in range(14, 27))
_PHONES = (
    "for Orbit X12|for Orbit X12 Pro|for Orbit X11|for Pixa 8|for Pixa 8 Pro|for Nexa S24|for Nexa S24 Ultra|for Lumo 5"
)
_SKIN = "for Dry Skin|for Oily Skin|for Sensitive Skin|for Combination Skin|for All Skin Types"

_G_HYDRATION = "Sporting Goods > Outdoor Recreation > Hydration Systems"
_G_ACTIVITY = "Health & Beauty > Health Care > Biometric Monitors > Activity Monitors"
_G_COFFEE = "Food, Beverages & Tobacco > Beverages > Coffee"
_G_COFFEE_ACC = (
    "Home & Garden > Kitchen & Dining > Kitchen Appliance Accessories > Coffee Maker & Espresso Machine Accessories"
)
_G_CHARGERS = "Electronics > Electronics Accessories > Power > Power Adapters & Chargers"
_G_HEADPHONES = "Electronics > Audio > Audio Components > Headphones & Headsets"
_G_CAMPING = "Sporting Goods > Outdoor Recreation > Camping & Hiking"
_G_YOGA = "Sporting Goods > Exercise & Fitness > Yoga & Pilates"
_G_DOG = "Animals & Pet Supplies > Pet Supplies"
_G_INPUT = "Electronics > Electronics Accessories > Computer Components > Input Devices"
_G_CAMERA_ACC = "Cameras & Optics > Camera & Optic Accessories"
_G_SKIN = "Health & Beauty > Personal Care > Cosmetics > Skin Care"
_G_KITCHEN = "Home & Garden > Kitchen & Dining"
_G_BIKE = "Sporting Goods > Outdoor Recreation > Cycling"
_G_BABY = "Baby & Toddler > Baby Transport"


class _Vertical(NamedTuple):
    name: str
    words: tuple[str, ...]  # second words of brand names, e.g. "Kestrel Audio"
    closers: tuple[str, ...]  # a description's second sentence; {brand} is filled in
    kinds: tuple[_Kind, ...]


_VERTICALS: tuple[_Vertical, ...] = (
    _Vertical(
        "Running",
        ("Running", "Athletics", "Run Club", "Performance"),
        (
            "Tested by the {brand} run club over thousands of miles.",
            "Free returns within 60 days, even if worn.",
        ),
        (
            _kind(
                "Running Shoes",
                "Running > Shoes",
                "Apparel & Accessories > Shoes",
                (95, 180),
                "Road|Trail|Daily Trainer|Tempo|Carbon-Plate Racing|Stability|Max Cushion",
                "Men's|Women's",
                _APPAREL,
                _SHOE_SIZES,
                blurb="A responsive foam midsole and breathable engineered mesh upper for everyday miles."
                "|A grippy rubber outsole and a locked-in heel, built to go from easy runs to race day.",
            ),
            _kind(
                "Running Socks",
                "Running > Socks",
                "Apparel & Accessories > Clothing > Underwear & Socks > Socks",
                (16, 24),
                "Merino|Cushioned|Lightweight|Compression|Anti-Blister|Trail",
                "No Show|Low Cut|Quarter|Crew",
                "@",
                _APPAREL,
                "Size S|Size M|Size L|Size XL",
                scale="Single Pair:0.5|3-Pack:1|6-Pack:1.75",
                blurb="Moisture-wicking running socks with a seamless toe and targeted cushioning against blisters.",
            ),
            _kind(
                "Running Insoles",
                "Running > Insoles",
                "Health & Beauty > Personal Care > Foot Care > Insoles & Inserts",
                (25, 60),
                "Arch Support|Cushioned Gel|Carbon Fiber|Memory Foam|Orthotic|Trail Stability",
                "Low Arch|Medium Arch|High Arch",
                "Neutral|Overpronation|Plantar Fasciitis Relief",
                "Men's 7-8.5|Men's 9-10.5|Men's 11-12.5|Women's 5-6.5|Women's 7-8.5|Women's 9-10.5",
                blurb=(
                    "Replacement insoles that support the arch and soak up impact; trim them to fit any running shoe."
                ),
            ),
            _kind(
                "Hydration Belt",
                "Running > Hydration Belts",
                _G_HYDRATION,
                (24, 55),
                "Race|Trail|Ultra|Minimalist|Reflective|Bounce-Free",
                "2 x 250 ml Flasks|1 x 500 ml Flask|4 x 180 ml Flasks|Phone Pocket Only",
                _APPAREL,
                "Size XS-S|Size M-L|Size XL",
                blurb="A no-bounce running belt with soft flasks and a zip pocket for a large phone, keys and gels.",
            ),
            _kind(
                "Hydration Vest",
                "Running > Hydration Vests",
                _G_HYDRATION,
                (65, 170),
                "Race|Trail|Ultra|Mountain|Minimalist",
                "@",
                "with 2 x 500 ml Soft Flasks|with 1.5 L Reservoir|Flasks Sold Separately",
                _APPAREL,
                "Size XS/S|Size M/L|Size XL",
                scale="5 L:0.85|8 L:1|12 L:1.2",
                blurb="A snug running vest that carries water, a jacket and nutrition for long runs and trail races.",
            ),
            _kind(
                "Safety Vest",
                "Running > Safety",
                "Sporting Goods > Exercise & Fitness > Sport Safety Lights & Reflectors",
                (15, 40),
                "High-Visibility|LED|Reflective Mesh|Rechargeable LED",
                "Neon Yellow|Orange|Pink",
                "Size S/M|Size L/XL",
                "USB-C Rechargeable|Battery Powered|No Lights",
                blurb="A featherweight reflective running vest that keeps you visible to traffic at dawn and dusk.",
            ),
        ),
    ),
    _Vertical(
        "Wearables",
        ("Wearables", "Labs", "Instruments", "Sports Tech"),
        (
            "Syncs with the free {brand} app on iOS and Android.",
            "Covered by a two-year {brand} warranty.",
        ),
        (
            _kind(
                "GPS Running Watch",
                "Wearables > GPS Watches",
                "Apparel & Accessories > Jewelry > Watches",
                (149, 599),
                "Multisport|Trail|Triathlon|Marathon|Solar|AMOLED",
                "42 mm|46 mm|51 mm",
                "with Offline Maps|with Wrist Heart Rate|with Music Storage",
                _TECH,
                blurb="Tracks pace, distance, cadence and heart rate with dual-band GPS and suggests daily workouts.",
            ),
            _kind(
                "Fitness Tracker",
                "Wearables > Fitness Trackers",
                _G_ACTIVITY,
                (49, 159),
                "Slim|Sport|Sleep & Stress|Waterproof|AMOLED",
                _TECH,
                "Size S/M|Size L",
                "7-Day Battery|14-Day Battery",
                blurb="A slim tracker for steps, sleep, stress and heart rate, water-resistant to 50 metres.",
            ),
            _kind(
                "Heart Rate Chest Strap",
                "Wearables > Heart Rate Monitors",
                _G_ACTIVITY,
                (39, 99),
                "Bluetooth & ANT+|Dual-Band|Running Dynamics|Swim-Proof",
                "Size XS-S|Size M-XL|Size XXL",
                "Black|Grey|Blue",
                blurb="ECG-accurate heart rate on a soft strap that pairs with watches and treadmills.",
            ),
            _kind(
                "Watch Band",
                "Wearables > Watch Bands",
                "Health & Beauty > Health Care > Biometric Monitor Accessories > Activity Monitor Accessories",
                (15, 45),
                "Silicone Sport|Nylon Loop|Quick-Release Leather|Stainless Mesh|Perforated",
                "20 mm|22 mm|26 mm",
                _APPAREL,
                blurb="A quick-release replacement band for sport watches and fitness trackers.",
            ),
        ),
    ),
    _Vertical(
        "Coffee",
        ("Coffee Co.", "Roasters", "Brew Labs", "Espresso"),
        (
            "Roasted and shipped by {brand} within 48 hours.",
            "Backed by the {brand} barista support line.",
        ),
        (
            _kind(
                "Espresso Machine",
                "Coffee > Espresso Machines",
                f"{_G_KITCHEN} > Kitchen Appliances > Coffee Makers & Espresso Machines > Espresso Machines",
                (199, 899),
                "Single Boiler|Dual Boiler|Heat Exchanger|Compact|Semi-Automatic|Super-Automatic|Lever",
                "9 Bar|15 Bar|19 Bar",
                _HOME,
                "with Steam Wand|with Built-In Grinder|with PID Temperature Control|with Automatic Milk Frother",
                blurb="Pulls cafe-quality shots at home with stable brew temperature and a powerful steam wand.",
            ),
            _kind(
                "Coffee",
                "Coffee > Beans",
                _G_COFFEE,
                (13, 24),
                "Ethiopia Yirgacheffe|Colombia Huila|Guatemala Antigua|Kenya AA|Sumatra Mandheling|Brazil Cerrado"
                "|Costa Rica Tarrazu|Rwanda Nyamasheke|House Espresso Blend|Breakfast Blend|Decaf Swiss Water"
                "|Honduras Marcala",
                "Light Roast|Medium Roast|Medium-Dark Roast|Dark Roast|Espresso Roast",
                "Whole Bean|Espresso Grind|Drip Grind|French Press Grind",
                "@",
                "Organic|Fair Trade|Single Estate",
                scale="12 oz:1|2 lb:2.3|5 lb:5",
                series=False,
                blurb="Specialty-grade coffee, roasted to order in small batches for espresso or filter.",
            ),
            _kind(
                "Espresso Capsules",
                "Coffee > Pods",
                _G_COFFEE,
                (6, 10),
                "Intenso|Lungo|Ristretto|Decaf|Vanilla|Caramel|Hazelnut|Colombia|Ethiopia|Dark Chocolate",
                "Original Line Compatible|Home-Compostable",
                "Intensity 6|Intensity 8|Intensity 10|Intensity 12",
                "@",
                scale="10 Capsules:1|50 Capsules:4.6|100 Capsules:8.8",
                series=False,
                blurb="Aluminium-free espresso capsules, sealed fresh, for single-serve capsule machines.",
            ),
            _kind(
                "Milk Frother",
                "Coffee > Milk Frothers",
                f"{_G_KITCHEN} > Kitchen Appliances > Milk Frothers & Steamers",
                (25, 150),
                "Electric|Handheld|Induction|Automatic 4-in-1|Cold Foam",
                "240 ml|300 ml|500 ml",
                _HOME,
                "Hot & Cold Foam|Dishwasher-Safe Jug|Hot Chocolate Setting",
                blurb="Silky microfoam for lattes and cappuccinos in under a minute, hot or cold.",
            ),
            _kind(
                "Espresso Machine Descaler",
                "Coffee > Descaler",
                "Home & Garden > Household Supplies > Household Cleaning Supplies > Household Cleaning Products"
                " > Descalers & Decalcifiers",
                (10, 22),
                "Natural|Citric Acid|Eco|Rapid|Universal",
                "Liquid|Tablets|Powder",
                "@",
                "Fragrance-Free|Biodegradable",
                scale="2 Uses:1|4 Uses:1.7|8 Uses:3",
                series=False,
                blurb="Removes limescale from espresso and drip machines to keep shots hot and flowing.",
            ),
            _kind(
                "Coffee Grinder",
                "Coffee > Grinders",
                f"{_G_COFFEE_ACC} > Coffee Grinders",
                (59, 399),
                "Conical Burr|Flat Burr|Hand|Single-Dose|Precision",
                "40 Grind Settings|60 Grind Settings|Stepless",
                _HOME,
                "38 mm Burrs|54 mm Burrs|64 mm Burrs",
                blurb="A low-retention burr grinder with fine steps from espresso to cold brew.",
            ),
            _kind(
                "Milk Frothing Pitcher",
                "Coffee > Accessories",
                f"{_G_COFFEE_ACC} > Frothing Pitchers",
                (12, 35),
                "Stainless Steel|Latte Art|Non-Stick|Double-Spout",
                "@",
                _HOME,
                "with Measurement Markings|with Latte Art Pen",
                scale="350 ml:0.85|600 ml:1|900 ml:1.2",
                blurb="A balanced steaming pitcher with a sharp spout for pouring latte art.",
            ),
        ),
    ),
    _Vertical(
        "Mobile",
        ("Mobile", "Devices", "Electronics", "Tech"),
        (
            "Ships free from the {brand} warehouse.",
            "Includes a one-year {brand} warranty.",
        ),
        (
            _kind(
                "Smartphone",
                "Mobile > Phones",
                "Electronics > Communications > Telephony > Mobile Phones > Unlocked Mobile Phones",
                (299, 999),
                "5|6|7|8|9|X|5 Pro|6 Pro|7 Pro|8 Pro|7 Lite|8 Max",
                "@",
                "Unlocked|5G Unlocked|Dual SIM",
                "6.1-inch|6.4-inch|6.7-inch",
                _TECH,
                scale="128 GB:1|256 GB:1.15|512 GB:1.4|1 TB:1.7",
                blurb="A bright OLED display, an all-day battery and a triple camera that shines in low light.",
            ),
            _kind(
                "Phone Case",
                "Mobile > Cases",
                "Electronics > Communications > Telephony > Mobile Phone Accessories > Mobile Phone Cases",
                (15, 59),
                "Clear|Rugged|Slim|Leather Folio|Magnetic|Silicone|Wallet|Biodegradable",
                _PHONES,
                _TECH,
                blurb="Raised edges protect the screen and camera, with drop protection tested to 10 feet.",
            ),
            _kind(
                "Screen Protector",
                "Mobile > Screen Protectors",
                "Electronics > Electronics Accessories > Electronics Films & Shields > Screen Protectors",
                (9, 25),
                "Tempered Glass|Privacy|Anti-Glare Matte|Ceramic|Blue Light Filter",
                _PHONES,
                "@",
                "with Installation Frame|Case-Friendly",
                scale="1-Pack:0.7|2-Pack:1|3-Pack:1.3",
                blurb="9H hardness glass that installs bubble-free in seconds and keeps full touch sensitivity.",
            ),
            _kind(
                "Charger",
                "Mobile > Chargers",
                _G_CHARGERS,
                (15, 69),
                "20W USB-C|30W GaN|45W GaN|65W GaN 3-Port|15W Magnetic Wireless|3-in-1 Wireless",
                "with 1 m USB-C Cable|with 2 m USB-C Cable|Charger Only",
                "White|Black|Grey",
                "Foldable Plug|Compact",
                blurb="Fast-charges a phone to 50 percent in about 30 minutes, with safe temperature control.",
            ),
            _kind(
                "Power Bank",
                "Mobile > Power Banks",
                _G_CHARGERS,
                (25, 89),
                "Slim|Magnetic|Fast-Charge|Rugged|Solar",
                "@",
                "20W PD|45W PD|65W PD",
                _TECH,
                scale="5000 mAh:0.7|10000 mAh:1|20000 mAh:1.4|26800 mAh:1.8",
                blurb="A pocketable battery pack with USB-C fast charging for phones, earbuds and tablets.",
            ),
        ),
    ),
    _Vertical(
        "Audio",
        ("Audio", "Sound", "Acoustics", "Hi-Fi"),
        (
            "Tuned by the {brand} sound lab.",
            "Try it for 45 days with free returns from {brand}.",
        ),
        (
            _kind(
                "Wireless Earbuds",
                "Audio > Earbuds",
                f"{_G_HEADPHONES} > Headphones",
                (39, 249),
                "Noise-Cancelling|Sport|Open-Ear|Hi-Res|Compact",
                _TECH,
                "with Wireless Charging Case|with USB-C Case",
                "IPX4|IPX5|IP55|IP57",
                blurb="Active noise cancelling, clear calls and up to 30 hours of listening with the case.",
            ),
            _kind(
                "Over-Ear Headphones",
                "Audio > Headphones",
                f"{_G_HEADPHONES} > Headphones",
                (69, 399),
                "Noise-Cancelling|Studio|Wireless|Travel|Hi-Res",
                _TECH,
                "30-Hour Battery|40-Hour Battery|60-Hour Battery",
                "with Carry Case|Foldable",
                blurb="Plush memory-foam cushions and rich, detailed sound for long flights and focused work.",
            ),
            _kind(
                "Bluetooth Speaker",
                "Audio > Speakers",
                "Electronics > Audio > Audio Components > Speakers",
                (39, 299),
                "Portable|Waterproof|Party|Mini|Outdoor",
                _TECH,
                "IP67|IPX7|IP56",
                "12-Hour Playtime|20-Hour Playtime|24-Hour Playtime",
                blurb="Big, room-filling sound from a rugged speaker that floats and survives drops.",
            ),
            _kind(
                "Replacement Ear Tips",
                "Audio > Accessories",
                "Electronics > Audio > Audio Accessories > Headphone & Headset Accessories > Headphone Cushions & Tips",
                (9, 29),
                "Memory Foam|Silicone|Sport Wing|Hybrid",
                "S/M/L Assorted|Size M|Size L",
                "@",
                "Black|Grey|White",
                scale="3 Pairs:1|6 Pairs:1.6",
                blurb="A better seal for stronger bass and noise isolation in most true wireless earbuds.",
            ),
        ),
    ),
    _Vertical(
        "Camping",
        ("Outdoors", "Outfitters", "Gear Co.", "Expedition"),
        (
            "Field-tested by {brand} guides in every season.",
            "Backed by the {brand} lifetime repair promise.",
        ),
        (
            _kind(
                "Tent",
                "Camping > Tents",
                f"{_G_CAMPING} > Tents",
                (119, 449),
                "Ultralight Backpacking|Dome|Tunnel|Freestanding|Family Cabin|Instant Pop-Up|Trekking Pole",
                "@",
                "3-Season|4-Season",
                _OUTDOOR,
                "with Footprint|with Two Vestibules|with Full Rainfly",
                scale="1-Person:0.75|2-Person:1|3-Person:1.25|4-Person:1.5|6-Person:1.9",
                blurb="Pitches in minutes with colour-coded poles and stays dry under a fully taped rainfly.",
            ),
            _kind(
                "Sleeping Bag",
                "Camping > Sleeping Bags",
                f"{_G_CAMPING} > Sleeping Bags",
                (59, 399),
                "Down|Synthetic|Mummy|Rectangular|Ultralight Down|Double-Wide",
                "0°F / -18°C|15°F / -9°C|20°F / -7°C|30°F / -1°C|40°F / 4°C",
                "Regular|Long",
                _OUTDOOR,
                "Left Zip|Right Zip",
                blurb="Warm for its weight and packs down small into the included stuff sack.",
            ),
            _kind(
                "Sleeping Pad",
                "Camping > Sleeping Pads",
                f"{_G_CAMPING} > Sleeping Pads",
                (39, 199),
                "Insulated Air|Self-Inflating|Closed-Cell Foam|Ultralight Air",
                "R-Value 2.5|R-Value 4.2|R-Value 6.0",
                "Regular|Long Wide|Short",
                _OUTDOOR,
                blurb="Insulates you from cold ground and inflates in a few breaths with the pump sack.",
            ),
            _kind(
                "Headlamp",
                "Camping > Headlamps",
                "Hardware > Tools > Flashlights & Headlamps > Headlamps",
                (19, 89),
                "350 Lumen|450 Lumen|600 Lumen|900 Lumen|1200 Lumen",
                "USB-C Rechargeable|AAA Battery|Hybrid Battery",
                "with Red Night Mode|with Motion Sensor|with Lock Mode",
                _OUTDOOR,
                blurb="A bright, comfortable headlamp for camp chores, night hikes and early starts.",
            ),
            _kind(
                "Camping Stove",
                "Camping > Stoves",
                f"{_G_KITCHEN} > Kitchen Appliances > Portable Cooking Stoves",
                (29, 179),
                "Canister|Integrated Cook System|Two-Burner|Wood-Burning|Ultralight Titanium",
                "7000 BTU|10000 BTU|20000 BTU",
                "with Piezo Igniter|with Wind Shield|with Carry Case",
                _OUTDOOR,
                blurb="Boils a litre of water in about three minutes, even in wind.",
            ),
            _kind(
                "Camp Cook Set",
                "Camping > Cookware",
                f"{_G_CAMPING} > Camping Cookware & Dinnerware",
                (19, 99),
                "Titanium|Hard-Anodized Aluminum|Stainless Steel|Nesting",
                "1-Person|2-Person|4-Person",
                "3-Piece|5-Piece|8-Piece",
                _OUTDOOR,
                blurb="Pots, lids and mugs that nest together around a fuel canister to save pack space.",
            ),
        ),
    ),
    _Vertical(
        "Yoga",
        ("Yoga", "Studio", "Movement", "Wellness"),
        (
            "Designed with teachers from the {brand} studio.",
            "Made with responsibly sourced materials by {brand}.",
        ),
        (
            _kind(
                "Yoga Mat",
                "Yoga > Mats",
                f"{_G_YOGA} > Yoga & Pilates Mats",
                (25, 129),
                "Natural Rubber|TPE|Cork|PVC-Free|Travel|Alignment|Extra-Long",
                "1.5 mm|4 mm|5 mm|6 mm|8 mm",
                "68 in|72 in|80 in",
                _SOFT,
                blurb="A grippy, cushioned mat that stays put through sweaty flows and rolls up without curling.",
            ),
            _kind(
                "Yoga Block",
                "Yoga > Blocks",
                f"{_G_YOGA} > Yoga & Pilates Blocks",
                (12, 35),
                "Cork|EVA Foam|Bamboo|Recycled Foam",
                "@",
                "4 in|3 in",
                _SOFT,
                scale="Single:0.6|Set of 2:1",
                blurb="Firm, lightweight blocks with bevelled edges to support balance and deepen stretches.",
            ),
            _kind(
                "Yoga Strap",
                "Yoga > Straps",
                _G_YOGA,
                (8, 22),
                "Cotton|D-Ring|Cinch Buckle|Stretch|12-Loop",
                "6 ft|8 ft|10 ft",
                _SOFT,
                blurb="A durable strap that extends your reach for safer, deeper stretches.",
            ),
            _kind(
                "Yoga Leggings",
                "Yoga > Leggings",
                "Apparel & Accessories > Clothing > Activewear",
                (39, 110),
                "High-Waisted|Buttery-Soft|Seamless|Pocket|Compression|Cropped",
                "7/8 Length|Full Length|Capri",
                _SOFT,
                _SIZES,
                blurb="Squat-proof, four-way stretch leggings with a flat waistband that stays put.",
            ),
            _kind(
                "Yoga Towel",
                "Yoga > Towels",
                f"{_G_YOGA} > Yoga & Pilates Towels",
                (18, 45),
                "Non-Slip|Microfiber|Hot Yoga|Quick-Dry",
                "Mat-Size|Hand-Size",
                _SOFT,
                "with Silicone Grip Dots|with Corner Pockets|Machine-Washable",
                blurb="An absorbent microfibre towel that grips better the more you sweat.",
            ),
            _kind(
                "Yoga Mat Bag",
                "Yoga > Mat Bags",
                f"{_G_YOGA} > Yoga Mat Bags & Straps",
                (19, 59),
                "Canvas|Full-Zip|Sling|Waterproof",
                _SOFT,
                "Fits Mats up to 6 mm|Fits Mats up to 8 mm",
                "with Water Bottle Pocket|with Yoga Strap",
                blurb="Carries a mat, towel and water bottle to class.",
            ),
        ),
    ),
    _Vertical(
        "Pets",
        ("Pet Co.", "Pets", "Dog Supply", "Canine"),
        (
            "Vet-reviewed and made by {brand}.",
            "Free exchanges within 90 days from {brand}.",
        ),
        (
            _kind(
                "Dog Bed",
                "Pets > Dog Beds",
                f"{_G_DOG} > Dog Supplies > Dog Beds",
                (35, 139),
                "Orthopedic Memory Foam|Bolster|Calming Donut|Elevated Cooling|Waterproof|Crate",
                "@",
                _PET,
                "Removable Washable Cover|Non-Slip Base|Chew-Resistant",
                scale="Small:0.6|Medium:0.8|Large:1|X-Large:1.35|Jumbo:1.7",
                blurb="Supportive foam eases joints and a washable cover keeps the bed fresh.",
            ),
            _kind(
                "Dry Dog Food",
                "Pets > Dog Food",
                f"{_G_DOG} > Dog Supplies > Dog Food > Non-prescription Dog Food",
                (19, 45),
                "Chicken & Brown Rice|Salmon & Sweet Potato|Lamb & Oatmeal|Grain-Free Turkey|Beef & Barley"
                "|Duck & Pumpkin|Whitefish & Quinoa",
                "Puppy|Adult|Senior",
                "Small Breed|All Breeds|Large Breed",
                "@",
                scale="4 lb:0.45|12 lb:1|24 lb:1.7|30 lb:2",
                series=False,
                blurb="Complete and balanced nutrition with real meat as the first ingredient"
                " and no artificial colours.",
            ),
            _kind(
                "Dog Chew Toy",
                "Pets > Chew Toys",
                f"{_G_DOG} > Dog Supplies > Dog Toys",
                (8, 25),
                "Tough Rubber|Rope|Treat-Dispensing|Squeaky Plush|Nylon Bone|Floating",
                "Small|Medium|Large",
                _BRIGHT,
                "@",
                scale="Single:1|2-Pack:1.7",
                blurb="A durable chew toy that keeps dogs busy and cleans teeth as they play.",
            ),
            _kind(
                "Dog Leash",
                "Pets > Leashes",
                f"{_G_DOG} > Pet Leashes",
                (15, 45),
                "Reflective Nylon|Hands-Free Running|Leather|Climbing Rope|Retractable|Bungee",
                "4 ft|5 ft|6 ft",
                _BRIGHT,
                "Padded Handle|with Traffic Handle|with Waste Bag Dispenser",
                blurb="A strong leash with a comfortable handle and a locking clip.",
            ),
            _kind(
                "Dog Harness",
                "Pets > Harnesses",
                f"{_G_DOG} > Pet Collars & Harnesses",
                (19, 55),
                "No-Pull|Step-In|Reflective|Front-Clip|Adventure",
                _SIZES,
                _BRIGHT,
                blurb="A padded harness with front and back clips that discourages pulling on walks.",
            ),
            _kind(
                "Dog Treats",
                "Pets > Treats",
                f"{_G_DOG} > Dog Supplies > Dog Treats",
                (8, 20),
                "Chicken Jerky|Salmon Bites|Peanut Butter Biscuits|Dental Chews|Sweet Potato Chews|Training",
                "Grain-Free|Single-Ingredient|Made in USA",
                "@",
                scale="5 oz:0.7|12 oz:1|24 oz:1.8",
                series=False,
                blurb="Wholesome treats made in small batches, perfect for training and rewards.",
            ),
        ),
    ),
    _Vertical(
        "Computing",
        ("Computing", "Systems", "Digital", "Works"),
        (
            "Certified compatible by the {brand} lab.",
            "Includes {brand} support for the life of the product.",
        ),
        (
            _kind(
                "Laptop",
                "Computing > Laptops",
                "Electronics > Computers > Laptops",
                (649, 1799),
                "13-inch|14-inch|15-inch|16-inch|13-inch 2-in-1|14-inch Ultralight",
                "8-Core CPU|10-Core CPU|12-Core CPU",
                "16 GB RAM|32 GB RAM",
                "@",
                _TECH,
                scale="256 GB SSD:0.9|512 GB SSD:1|1 TB SSD:1.2|2 TB SSD:1.45",
                blurb="A thin aluminium laptop with a sharp display, all-day battery and a comfortable keyboard.",
            ),
            _kind(
                "Laptop Sleeve",
                "Computing > Sleeves",
                "Electronics > Electronics Accessories > Computer Accessories > Computer Covers & Skins",
                (19, 69),
                "Neoprene|Felt|Water-Resistant|Vegan Leather|Padded",
                "13-inch|14-inch|15-inch|16-inch",
                _APPAREL,
                "with Accessory Pocket|Slim",
                blurb="A padded sleeve that protects a laptop in any bag.",
            ),
            _kind(
                "Wireless Mouse",
                "Computing > Mice",
                f"{_G_INPUT} > Mice & Trackballs",
                (19, 99),
                "Ergonomic|Silent|Vertical|Travel|Multi-Device|Precision",
                "Bluetooth|USB-C Receiver|Bluetooth & 2.4 GHz",
                _TECH,
                "Rechargeable|AA Battery",
                blurb="A precise, quiet mouse that switches between three computers.",
            ),
            _kind(
                "USB-C Hub",
                "Computing > Hubs",
                "Electronics > Electronics Accessories > Computer Components > USB & FireWire Hubs",
                (25, 119),
                "7-in-1|8-in-1|10-in-1|4-Port|Dual-Display|Travel",
                "4K HDMI|Dual 4K HDMI|8K HDMI",
                "100W Pass-Through Charging|SD & microSD Readers|Gigabit Ethernet",
                "Space Grey|Silver|Black",
                blurb="Adds HDMI, USB-A, card readers and pass-through charging to a laptop's single USB-C port.",
            ),
            _kind(
                "Keyboard",
                "Computing > Keyboards",
                f"{_G_INPUT} > Keyboards",
                (39, 179),
                "Low-Profile Mechanical|Compact Wireless|Ergonomic Split|Backlit|75% Mechanical",
                "Tactile Switches|Linear Switches|Scissor Keys",
                "Bluetooth|USB-C Wired|Tri-Mode",
                _TECH,
                blurb="A comfortable, quiet keyboard that pairs with laptops, tablets and desktops.",
            ),
            _kind(
                "Laptop Stand",
                "Computing > Stands",
                "Electronics > Electronics Accessories > Computer Accessories > Computer Risers & Stands",
                (25, 89),
                "Adjustable Aluminum|Foldable|Vertical|Ventilated",
                "Space Grey|Silver|Black",
                "Fits 10-16 in Laptops|Fits 11-17 in Laptops",
                "6 Height Settings|Stepless Height",
                blurb="Raises the screen to eye level for better posture and cooler running.",
            ),
        ),
    ),
    _Vertical(
        "Photo",
        ("Optics", "Imaging", "Photo", "Camera Co."),
        (
            "Trusted by {brand} pro photographers.",
            "Registered products get two years of {brand} care.",
        ),
        (
            _kind(
                "Camera",
                "Photo > Cameras",
                "Cameras & Optics > Cameras > Digital Cameras",
                (599, 1999),
                "Mirrorless|DSLR|Full-Frame Mirrorless|APS-C Mirrorless|Compact Travel|Vlogging",
                "24 MP|26 MP|33 MP|45 MP|61 MP",
                "4K 60p Video|6K Video|8K Video",
                "@",
                "Black|Silver|Black & Silver",
                scale="Body Only:1|with 18-55 mm Lens:1.2|with 24-105 mm Lens:1.55",
                blurb="Fast autofocus that tracks eyes and subjects, in-body stabilisation and clean high-ISO images.",
            ),
            _kind(
                "Memory Card",
                "Photo > Memory Cards",
                "Electronics > Electronics Accessories > Memory > Flash Memory > Flash Memory Cards",
                (14, 79),
                "SDXC UHS-I V30|SDXC UHS-II V60|SDXC UHS-II V90|microSDXC A2|CFexpress Type B",
                "@",
                "Up to 170 MB/s|Up to 250 MB/s|Up to 300 MB/s",
                "with Card Reader|with Adapter|Card Only",
                scale="64 GB:0.6|128 GB:1|256 GB:1.7|512 GB:2.8|1 TB:4.5",
                blurb="Fast enough for burst shooting and 4K video, and rated waterproof, shockproof and X-ray proof.",
            ),
            _kind(
                "Tripod",
                "Photo > Tripods",
                f"{_G_CAMERA_ACC} > Tripods & Monopods",
                (39, 299),
                "Carbon Fiber Travel|Aluminum|Video|Tabletop|Convertible Monopod",
                "with Ball Head|with 3-Way Pan Head|with Fluid Head",
                "Max Height 55 in|Max Height 63 in|Max Height 72 in",
                "Load 18 lb|Load 26 lb|Load 33 lb",
                "Black|Grey|Titanium",
                blurb="A stable, quick-to-set-up tripod for long exposures, landscapes and video.",
            ),
            _kind(
                "Camera Bag",
                "Photo > Bags",
                f"{_G_CAMERA_ACC} > Camera Parts & Accessories > Camera Bags & Cases",
                (35, 189),
                "Sling|Backpack|Messenger|Roll-Top|Hard-Shell|Everyday",
                "6 L|10 L|16 L|20 L|30 L",
                _OUTDOOR,
                "Water-Resistant|with Laptop Sleeve|with Tripod Straps",
                blurb="Padded, configurable dividers keep a camera and lenses safe and quick to reach.",
            ),
            _kind(
                "Lens Filter",
                "Photo > Filters",
                f"{_G_CAMERA_ACC} > Camera Lens Accessories > Lens Filters",
                (19, 119),
                "UV Protection|Circular Polarizer|Variable ND 2-5 Stop|ND1000|Black Mist 1/4",
                "49 mm|52 mm|55 mm|58 mm|62 mm|67 mm|72 mm|77 mm|82 mm",
                "Multi-Coated|Nano-Coated|Slim Frame",
                blurb="Optical glass with coatings that repel water and fingerprints and cut reflections.",
            ),
            _kind(
                "Camera Battery",
                "Photo > Batteries",
                "Electronics > Electronics Accessories > Power > Batteries > Camera Batteries",
                (29, 79),
                "Rechargeable Li-Ion|High-Capacity|USB-C Charging",
                "for Mirrorless Cameras|for DSLR Cameras",
                "@",
                "with Dual Charger|Battery Only",
                scale="Single:1|2-Pack:1.7",
                blurb="A spare battery so a long day of shooting never ends early.",
            ),
        ),
    ),
    _Vertical(
        "Skincare",
        ("Skin", "Botanicals", "Apothecary", "Skincare"),
        (
            "Dermatologist-tested and cruelty-free from {brand}.",
            "Formulated by {brand} without parabens.",
        ),
        (
            _kind(
                "Face Moisturizer",
                "Skincare > Moisturizers",
                f"{_G_SKIN} > Lotion & Moisturizer",
                (16, 58),
                "Hydrating Gel|Barrier Repair|Oil-Free|Rich Night|Ceramide|Daily Light",
                _SKIN,
                "Fragrance-Free|Lightly Scented",
                "@",
                scale="1.7 oz:1|3.4 oz:1.6",
                blurb="Long-lasting hydration that strengthens the skin barrier without feeling greasy.",
            ),
            _kind(
                "Facial Cleanser",
                "Skincare > Cleansers",
                f"{_G_SKIN} > Facial Cleansers",
                (10, 34),
                "Gentle Foaming|Cream|Gel|Oil-to-Milk|Exfoliating|Salicylic Acid",
                _SKIN,
                "@",
                scale="5 oz:1|8 oz:1.4|16 oz:2.2",
                blurb="Lifts away makeup, sunscreen and oil without stripping.",
            ),
            _kind(
                "Face Serum",
                "Skincare > Serums",
                _G_SKIN,
                (18, 75),
                "Vitamin C|Hyaluronic Acid|Niacinamide 10%|Retinol 0.3%|Peptide|Bakuchiol",
                _SKIN,
                "@",
                "Fragrance-Free|Vegan",
                scale="1 oz:1|2 oz:1.7",
                blurb="A lightweight serum that brightens, smooths and layers under moisturizer.",
            ),
            _kind(
                "Sunscreen",
                "Skincare > Sunscreen",
                f"{_G_SKIN} > Sunscreen",
                (12, 38),
                "Mineral|Tinted Mineral|Sheer Fluid|Sport|Daily Gel",
                "SPF 30|SPF 40|SPF 50",
                "Broad Spectrum|Water-Resistant 80 Min|Reef-Friendly Formula",
                "@",
                scale="1.7 oz:1|3.4 oz:1.6",
                blurb="Broad-spectrum protection with no white cast, light enough to wear every day.",
            ),
            _kind(
                "Lip Balm",
                "Skincare > Lip Care",
                f"{_G_SKIN} > Lip Balms & Treatments > Lip Balms",
                (4, 14),
                "Tinted|SPF 15|Overnight Repair|Unscented|Shea Butter",
                "Vanilla|Mint|Unscented|Berry|Honey",
                "@",
                scale="Single:1|3-Pack:2.4",
                blurb="Softens and protects dry lips with shea butter and plant oils.",
            ),
        ),
    ),
    _Vertical(
        "Kitchen",
        ("Kitchen", "Cutlery", "Provisions", "Cookware"),
        (
            "Made to last a lifetime by {brand}.",
            "Sharpening is free for life with {brand}.",
        ),
        (
            _kind(
                "Knife",
                "Kitchen > Knives",
                f"{_G_KITCHEN} > Kitchen Tools & Utensils > Kitchen Knives",
                (39, 249),
                "8-inch Chef's|7-inch Santoku|3.5-inch Paring|10-inch Bread|6-inch Utility|6-inch Boning"
                "|8-inch Carving|Nakiri",
                "Damascus Steel|German Stainless Steel|VG-10 Steel|High-Carbon Steel",
                "Walnut Handle|Pakkawood Handle|Black G10 Handle|Olive Wood Handle",
                "with Blade Guard|with Gift Box",
                blurb="A razor-sharp, well-balanced blade that holds its edge through daily prep.",
            ),
            _kind(
                "Cutting Board",
                "Kitchen > Cutting Boards",
                f"{_G_KITCHEN} > Kitchen Tools & Utensils > Cutting Boards",
                (24, 149),
                "End-Grain Walnut|Edge-Grain Maple|Acacia|Bamboo|Teak|Composite",
                "@",
                "with Juice Groove|Reversible|with Handles",
                "Oiled Finish|Unfinished",
                scale="12 x 9 in:0.7|16 x 12 in:1|20 x 15 in:1.4|24 x 18 in:1.8",
                blurb="A knife-friendly board that stays flat and protects your edges.",
            ),
            _kind(
                "Knife Sharpener",
                "Kitchen > Sharpeners",
                f"{_G_KITCHEN} > Kitchen Appliances > Knife Sharpeners",
                (19, 149),
                "Whetstone 1000/6000|Whetstone 400/1000|Pull-Through|Electric 3-Stage|Guided Angle|Ceramic Honing Rod",
                "with Bamboo Base|with Angle Guide|with Non-Slip Base",
                "Grey|Black|Red",
                blurb="Restores a keen edge to kitchen knives in a few minutes.",
            ),
            _kind(
                "Skillet",
                "Kitchen > Cookware",
                f"{_G_KITCHEN} > Cookware & Bakeware > Cookware > Skillets & Frying Pans",
                (29, 199),
                "Pre-Seasoned Cast Iron|Carbon Steel|Tri-Ply Stainless|Nonstick Ceramic|Enameled Cast Iron",
                "@",
                "Oven-Safe to 500°F|Induction-Ready",
                _HOME,
                scale="8-inch:0.7|10-inch:0.85|12-inch:1|14-inch:1.3",
                blurb="Heats evenly for a hard sear and goes from stovetop to oven.",
            ),
        ),
    ),
    _Vertical(
        "Cycling",
        ("Cycles", "Cycling", "Bike Co.", "Velo"),
        (
            "Ridden and tested by the {brand} team.",
            "Comes with a two-year {brand} warranty.",
        ),
        (
            _kind(
                "Bike",
                "Cycling > Bikes",
                f"{_G_BIKE} > Bicycles",
                (599, 2499),
                "Road|Gravel|Hybrid|Hardtail Mountain|Electric Commuter|Folding",
                "Aluminum Frame|Carbon Frame|Steel Frame",
                "1x11 Speed|2x10 Speed|1x12 Speed",
                "Size S|Size M|Size L",
                _BRIGHT,
                blurb="A light, lively frame with reliable hydraulic disc brakes for commuting and weekend rides.",
            ),
            _kind(
                "Bike Helmet",
                "Cycling > Helmets",
                f"{_G_BIKE} > Cycling Apparel & Accessories > Bicycle Helmets",
                (49, 249),
                "Road|MIPS Road|Aero|Mountain|Commuter|Urban",
                "Size S|Size M|Size L",
                _BRIGHT,
                "with Rear LED|with Visor|with Magnetic Buckle",
                blurb="A well-ventilated helmet with rotational impact protection and a fit dial.",
            ),
            _kind(
                "Bike Light Set",
                "Cycling > Lights",
                f"{_G_BIKE} > Bicycle Accessories",
                (19, 119),
                "USB-C Rechargeable|Daytime Running|Smart Brake|Commuter|Trail",
                "400 Lumen Front|800 Lumen Front|1200 Lumen Front|1600 Lumen Front",
                "with 100 Lumen Rear|with 200 Lumen Rear",
                "IPX6|IPX7",
                blurb="Front and rear lights that mount in seconds and keep you seen day and night.",
            ),
            _kind(
                "Bike Lock",
                "Cycling > Locks",
                f"{_G_BIKE} > Bicycle Accessories > Bicycle Locks",
                (25, 129),
                "Heavy-Duty U-Shackle|Folding|Hardened Chain|Coiled Cable|Smart Bluetooth|Mini U-Shackle",
                "Security Level 7|Security Level 10|Security Level 15",
                "with Frame Mount|with 2 Keys|Keyless Combination",
                "Black|Red|Grey",
                blurb="Hardened steel that resists cutting and prying, with a rattle-free mount.",
            ),
            _kind(
                "Cycling Gloves",
                "Cycling > Gloves",
                "Apparel & Accessories > Clothing Accessories > Gloves & Mittens",
                (18, 59),
                "Gel-Padded|Full-Finger|Fingerless|Winter Thermal|Touchscreen",
                _SIZES,
                _BRIGHT,
                blurb="Padded palms reduce hand numbness on long rides.",
            ),
            _kind(
                "Bike Pump",
                "Cycling > Pumps",
                f"{_G_BIKE} > Bicycle Accessories > Bicycle Pumps",
                (19, 89),
                "Floor|Mini|CO2 Inflator|Electric|Shock",
                "120 psi|160 psi|300 psi",
                "with Gauge|Presta & Schrader|with Frame Mount",
                "Black|Silver|Red",
                blurb="Inflates road and mountain tyres quickly with an accurate gauge.",
            ),
        ),
    ),
    _Vertical(
        "Gaming",
        ("Games", "Gaming", "Interactive", "Play"),
        (
            "Officially supported by {brand}.",
            "Includes a one-year {brand} warranty.",
        ),
        (
            _kind(
                "Game Console",
                "Gaming > Consoles",
                "Electronics > Video Game Consoles",
                (299, 549),
                "Home|Handheld|Hybrid|Digital Edition|Pro",
                "@",
                "with 1 Controller|with 2 Controllers|Bundle with 2 Games",
                "White|Black|Midnight Blue",
                scale="512 GB:1|1 TB:1.2|2 TB:1.45",
                blurb="Plays the latest games in 4K at up to 120 frames per second with fast loading.",
            ),
            _kind(
                "Game Controller",
                "Gaming > Controllers",
                f"{_G_INPUT} > Game Controllers > Gaming Pads",
                (39, 179),
                "Wireless|Pro Elite|Ergonomic|Hall-Effect|Adaptive",
                "for Console & PC|for PC|for Handheld",
                _BRIGHT,
                "with Back Paddles|with Charging Cable|with Swappable Thumbsticks",
                blurb="Precise sticks and triggers, low latency and a long-lasting rechargeable battery.",
            ),
            _kind(
                "Gaming Headset",
                "Gaming > Headsets",
                f"{_G_HEADPHONES} > Headsets",
                (39, 249),
                "Wireless|Wired|Surround Sound|Lightweight|Pro",
                _BRIGHT,
                "with Detachable Mic|with Noise-Cancelling Mic",
                "2.4 GHz & Bluetooth|USB-C|3.5 mm",
                blurb="Positional audio and a clear mic for team chat, comfortable for long sessions.",
            ),
            _kind(
                "Controller Charging Dock",
                "Gaming > Charging Docks",
                "Electronics > Video Game Console Accessories > Home Game Console Accessories",
                (19, 59),
                "Dual|Fast|RGB|Vertical Stand",
                "for 2 Controllers|for 4 Controllers",
                "White|Black|Midnight Blue",
                "with LED Indicators|with Cooling Fan",
                blurb="Drop controllers in and they are fully charged for the next session.",
            ),
        ),
    ),
    _Vertical(
        "Baby",
        ("Baby", "Little Ones", "Nursery", "Kids"),
        (
            "Safety-certified and tested by {brand}.",
            "Parents get a two-year {brand} warranty.",
        ),
        (
            _kind(
                "Stroller",
                "Baby > Strollers",
                f"{_G_BABY} > Baby Strollers",
                (199, 899),
                "Full-Size|Lightweight Travel|Jogging|Compact Fold|Double|Modular",
                _BABY,
                "with Reversible Seat|with Bassinet|with Canopy Extension",
                "One-Hand Fold|Car Seat Compatible",
                blurb="A smooth-riding stroller with all-wheel suspension that folds with one hand.",
            ),
            _kind(
                "Car Seat",
                "Baby > Car Seats",
                f"{_G_BABY} > Baby & Toddler Car Seats",
                (99, 449),
                "Infant|Convertible|All-in-One|Booster|Rotating",
                _BABY,
                "Machine-Washable Cover|Side-Impact Protection|Anti-Rebound Bar",
                "with Base|Belt-Fit",
                blurb="Easy, secure installation and side-impact protection that grows with your child.",
            ),
            _kind(
                "Stroller Organizer",
                "Baby > Stroller Accessories",
                "Baby & Toddler > Baby Transport Accessories > Baby Stroller Accessories",
                (15, 59),
                "Universal|Insulated|Deluxe|Clip-On",
                _BABY,
                "with Cup Holders|with Phone Pocket|with Detachable Pouch",
                blurb="Keeps bottles, phone and keys within reach on any stroller handlebar.",
            ),
            _kind(
                "Diaper Bag",
                "Baby > Diaper Bags",
                "Luggage & Bags > Diaper Bags",
                (39, 179),
                "Backpack|Tote|Convertible|Vegan Leather|Crossbody",
                _BABY,
                "with Changing Pad|with Stroller Straps|with Insulated Pockets",
                blurb="Organised pockets, a wipeable lining and a changing pad for days out.",
            ),
            _kind(
                "Baby Carrier",
                "Baby > Carriers",
                f"{_G_BABY} > Baby Carriers",
                (49, 199),
                "Ergonomic|Wrap|Hip Seat|Breathable Mesh|Newborn",
                _BABY,
                "4 Carry Positions|3 Carry Positions",
                "7-45 lb|8-35 lb",
                blurb="Spreads your baby's weight across hips and shoulders for comfortable carrying.",
            ),
        ),
    ),
)

# For each purchase type, the partner product types that naturally go with it (for checks and benchmarks).
COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "Running > Shoes": (
        "Running > Socks",
        "Running > Insoles",
        "Running > Hydration Belts",
        "Running > Hydration Vests",
        "Running > Safety",
        "Wearables > GPS Watches",
        "Wearables > Heart Rate Monitors",
    ),
    "Coffee > Espresso Machines": (
        "Coffee > Beans",
        "Coffee > Pods",
        "Coffee > Milk Frothers",
        "Coffee > Descaler",
        "Coffee > Grinders",
        "Coffee > Accessories",
    ),
    "Mobile > Phones": (
        "Mobile > Cases",
        "Mobile > Screen Protectors",
        "Mobile > Chargers",
        "Mobile > Power Banks",
        "Audio > Earbuds",
    ),
    "Camping > Tents": (
        "Camping > Sleeping Bags",
        "Camping > Sleeping Pads",
        "Camping > Headlamps",
        "Camping > Stoves",
        "Camping > Cookware",
    ),
    "Yoga > Mats": ("Yoga > Blocks", "Yoga > Straps", "Yoga > Leggings", "Yoga > Towels", "Yoga > Mat Bags"),
    "Pets > Dog Beds": ("Pets > Dog Food", "Pets > Chew Toys", "Pets > Leashes", "Pets > Harnesses", "Pets > Treats"),
    "Computing > Laptops": (
        "Computing > Sleeves",
        "Computing > Mice",
        "Computing > Hubs",
        "Computing > Keyboards",
        "Computing > Stands",
    ),
    "Photo > Cameras": (
        "Photo > Memory Cards",
        "Photo > Tripods",
        "Photo > Bags",
        "Photo > Filters",
        "Photo > Batteries",
    ),
    "Cycling > Bikes": (
        "Cycling > Helmets",
        "Cycling > Lights",
        "Cycling > Locks",
        "Cycling > Gloves",
        "Cycling > Pumps",
    ),
    "Gaming > Consoles": ("Gaming > Controllers", "Gaming > Headsets", "Gaming > Charging Docks"),
    "Baby > Strollers": ("Baby > Stroller Accessories", "Baby > Diaper Bags", "Baby > Car Seats"),
    "Kitchen > Knives": ("Kitchen > Cutting Boards", "Kitchen > Sharpeners"),
    "Skincare > Cleansers": ("Skincare > Moisturizers", "Skincare > Serums", "Skincare > Sunscreen"),
}

# --- the demo store and its orders ---

DEMO_STORE_BRAND = "Stride & Co"


def _order(*items: tuple[str, int, int, str]) -> dict[str, Any]:
    lines = [{"title": t, "price": p, "quantity": q, "brand": b} for t, p, q, b in items]
    return {"line_items": lines, "currency": "USD", "country": "US"}


DEMO_ORDERS: list[dict[str, Any]] = [
    _order(("Velocita Pulse 3 Road Running Shoes, Men's, Size 10, Black", 12900, 1, "Velocita")),
    _order(("Caffè Rosso Linea Dual Boiler Espresso Machine, Brushed Steel", 54900, 1, "Caffè Rosso")),
    _order(("Orbit X12 Smartphone, 256 GB, Unlocked, Graphite", 79900, 1, "Orbit")),
    _order(
        ("Stride & Co Basecamp 2-Person Backpacking Tent, Forest Green", 24900, 1, DEMO_STORE_BRAND),
        ("Stride & Co Trail Water Bottle, 24 oz", 1800, 2, DEMO_STORE_BRAND),
    ),
    _order(("Stride & Co Align Natural Rubber Yoga Mat, 5 mm, Sage", 6800, 1, DEMO_STORE_BRAND)),
    _order(("Hound & Home Orthopedic Memory Foam Dog Bed, Large, Charcoal", 8900, 1, "Hound & Home")),
    _order(("Lumen Book 14 Laptop, 16 GB RAM, 512 GB SSD, Silver", 119900, 1, "Lumen")),
    _order(
        ("Optika D750 DSLR Camera with 18-55 mm Lens", 89900, 1, "Optika"),
        ("Stride & Co Camera Strap, Black Leather", 2900, 1, DEMO_STORE_BRAND),
    ),
]
# The product type each demo order's main item would have in the network, parallel to DEMO_ORDERS.
DEMO_ORDER_ANCHORS: list[str] = [
    "Running > Shoes",
    "Coffee > Espresso Machines",
    "Mobile > Phones",
    "Camping > Tents",
    "Yoga > Mats",
    "Pets > Dog Beds",
    "Computing > Laptops",
    "Photo > Cameras",
]
_RESERVED = frozenset(
    name.lower() for name in (DEMO_STORE_BRAND, "Velocita", "Caffè Rosso", "Orbit", "Hound & Home", "Lumen", "Optika")
)

# --- brand names ---

_PREFIXES = (
    "Trail",
    "Stone",
    "River",
    "North",
    "Iron",
    "Cedar",
    "Summit",
    "Swift",
    "Bright",
    "Silver",
    "Oak",
    "Ember",
    "Tide",
    "Frost",
    "Moss",
    "Pine",
    "Storm",
    "Sun",
    "Hollow",
    "Copper",
    "Blue",
    "Wild",
    "High",
    "Clear",
    "Glen",
    "Lark",
    "Fern",
    "Ash",
    "Birch",
    "Drift",
)
_ENDINGS = (
    "wind",
    "peak",
    "line",
    "craft",
    "field",
    "ridge",
    "wave",
    "forge",
    "path",
    "light",
    "brook",
    "wood",
    "bay",
    "fall",
    "mark",
    "well",
    "haven",
    "crest",
    "vale",
    "stone",
)
_NAMES = (
    "Kestrel",
    "Heron",
    "Juniper",
    "Falcon",
    "Otter",
    "Maple",
    "Sable",
    "Wren",
    "Aspen",
    "Marlow",
    "Osprey",
    "Lynx",
    "Cobalt",
    "Harbor",
    "Meridian",
    "Beacon",
    "Atlas",
    "Nimbus",
    "Vesper",
    "Solace",
    "Thistle",
    "Alder",
    "Quill",
    "Halcyon",
    "Tamarack",
    "Larkspur",
    "Fable",
    "Everly",
    "Rook",
    "Saffron",
)
_SERIES = (
    "Aero",
    "Apex",
    "Tempo",
    "Nova",
    "Pulse",
    "Vista",
    "Flux",
    "Zephyr",
    "Halo",
    "Vector",
    "Terra",
    "Echo",
    "Strata",
    "Luma",
    "Crest",
    "Kinetic",
    "Arc",
    "Sierra",
    "Prime",
    "Core",
    "Orion",
    "Lyra",
    "Glide",
    "Sol",
    "Rally",
    "Nomad",
    "Verve",
    "Keel",
    "Ridge",
    "Aura",
    "Mosaic",
    "Summit",
)
# Product lines for consumables, where a model name would read oddly ("Reserve Kenya AA Coffee").
_COLLECTIONS = (
    "Signature",
    "Reserve",
    "Everyday",
    "Heritage",
    "Small Batch",
    "Farmhouse",
    "Classic",
    "Select",
    "Origins",
    "Pure",
    "Daily",
    "Founders",
    "Harvest",
    "Estate",
    "Essentials",
    "Wild",
    "Simple",
    "Good Day",
    "Naturals",
    "Craft",
    "Field",
    "Home",
    "True",
    "Golden",
    "Fresh",
    "Nordic",
    "Garden",
    "Sunday",
    "Summit",
    "Provisions",
    "Atelier",
    "Kindred",
)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _brand_name(rng: random.Random, vertical: _Vertical) -> tuple[str, str]:
    """A fictional name and its initials: a compound ("Trailwind") or a name and a trade ("Kestrel Audio")."""
    if rng.random() < 0.5:
        head, tail = rng.choice(_PREFIXES), rng.choice(_ENDINGS)
        return head + tail, head[0] + tail[0].upper()
    head, word = rng.choice(_NAMES), rng.choice(vertical.words)
    return f"{head} {word}", head[0] + word.lstrip("& ")[0].upper()


def _brands(rng: random.Random, count: int) -> list[tuple[DemoBrand, str]]:
    """Unique brands (with an id prefix each), dealt to verticals in turn."""
    names: set[str] = set(_RESERVED)
    domains: set[str] = set()
    prefixes: set[str] = set()
    out: list[tuple[DemoBrand, str]] = []
    for n in range(count):
        vertical = _VERTICALS[n % len(_VERTICALS)]
        for attempt in range(1000):
            name, initials = _brand_name(rng, vertical)
            if attempt > 50:  # the word lists ran out of fresh pairs (a very large network)
                name = f"{name} {n}"
            domain = _slug(name).replace("-", "") + ".example"
            if name.lower() not in names and domain not in domains:
                break
        names.add(name.lower())
        domains.add(domain)
        prefix, k = initials, 1
        while prefix in prefixes:
            k += 1
            prefix = f"{initials}{k}"
        prefixes.add(prefix)
        out.append((DemoBrand(name, domain, vertical.name), prefix))
    return out


def _sizes(rng: random.Random, products: int, verticals: list[str]) -> list[int]:
    """Catalog sizes summing to `products`, each at least 20 where the total allows: Zipf-like among a
    vertical's brands, and every vertical about as well stocked as the others, so every demo basket finds
    its complements."""
    floor = min(20, products // len(verticals))
    stock = {name: rng.uniform(0.75, 1.25) for name in dict.fromkeys(verticals)}
    ranks: dict[int, int] = {}
    for name in stock:
        members = [i for i, v in enumerate(verticals) if v == name]
        rng.shuffle(members)
        ranks |= {i: rank for rank, i in enumerate(members, start=1)}
    weights = [
        stock[v] / ranks[i] / sum(1 / r for r in range(1, verticals.count(v) + 1)) for i, v in enumerate(verticals)
    ]
    spare = products - floor * len(verticals)
    shares = [spare * w / sum(weights) for w in weights]
    sizes = [floor + int(share) for share in shares]
    by_remainder = sorted(range(len(sizes)), key=lambda i: shares[i] - int(shares[i]), reverse=True)
    for i in by_remainder[: products - sum(sizes)]:
        sizes[i] += 1
    return sizes


def _retail_cents(dollars: float, rng: random.Random) -> int:
    """A shelf price: 17.99, 17.95 or 18.00 below $100; 449.99, 450.00 or 444.99 above."""
    if dollars < 100:
        return max(1, round(dollars)) * 100 - rng.choice((1, 1, 5, 0))
    return max(10, round(dollars / 10) * 10) * 100 - rng.choice((1, 1, 0, 501))


class _Shop:
    """One brand's catalog in the making: unique titles and links, running ids."""

    def __init__(self, brand: DemoBrand, prefix: str, lines: int, rng: random.Random) -> None:
        self.brand, self.prefix, self.rng = brand, prefix, rng
        self.series = rng.sample(_SERIES, lines)
        self.collections = rng.sample(_COLLECTIONS, lines)
        self.number = rng.randrange(100, 5000)
        self.slugs: set[str] = set()

    def product(self, kind: _Kind, closers: tuple[str, ...]) -> dict[str, str]:
        rng = self.rng
        for attempt in range(40):
            step, factor = rng.choice(kind.scale) if kind.scale else ("", 1.0)
            parts = [rng.choice(options) if options != ("@",) else step for options in kind.attrs]
            if step and ("@",) not in kind.attrs:
                parts.append(step)
            line = rng.choice(self.series if kind.series else self.collections)
            name = f"{line} {rng.choice(kind.leads)} {kind.noun}"
            if attempt >= 30:  # every combination drawn so far is taken: number a style
                parts.append(f"Style {attempt - 29}")
            rest = ", ".join([name, *(p for p in parts if p)])
            slug = _slug(rest)
            if slug not in self.slugs:
                break
        self.slugs.add(slug)
        self.number += 1
        lo, hi = kind.price
        brand, domain = self.brand.name, self.brand.domain
        cents = _retail_cents((lo + (hi - lo) * rng.random() ** 1.4) * factor, rng)
        return {
            "id": f"{self.prefix}-{self.number:06d}",
            "title": f"{brand} {rest}",
            "link": f"https://{domain}/products/{slug}",
            "price": f"{cents // 100}.{cents % 100:02d} USD",
            "brand": brand,
            "description": f"{rng.choice(kind.blurbs)} {rng.choice(closers).format(brand=brand)}",
            "image_link": f"https://{domain}/images/{slug}.jpg",
            "google_product_category": kind.category,
            "product_type": kind.product_type,
            "availability": "in stock",
        }


def _variety(kind: _Kind) -> int:
    """How many different titles a kind can make within one product line."""
    return len(kind.leads) * max(1, len(kind.scale)) * prod(len(a) for a in kind.attrs if a != ("@",))


def _allocate(weights: list[float], caps: list[int], total: int) -> list[int]:
    """Split `total` in proportion to `weights`, keeping each part under its cap while any part has room."""
    counts = [0] * len(weights)
    left = total
    while left > 0:
        open_ = [i for i, count in enumerate(counts) if count < caps[i]]
        room = {i: caps[i] - counts[i] for i in open_} if open_ else {i: left for i in range(len(counts))}
        share = sum(weights[i] for i in room)
        for i, free in room.items():
            add = min(max(1, int(left * weights[i] / share)), free, total - sum(counts))
            counts[i] += add
        left = total - sum(counts)
    return counts


def _assortments(rng: random.Random, brands: list[tuple[DemoBrand, str]], sizes: list[int]) -> list[list[_Kind]]:
    """Which product types each brand sells; together a vertical's brands sell all of its types."""
    by_name = {v.name: v for v in _VERTICALS}
    chosen: list[list[_Kind]] = []
    for brand, _ in brands:
        kinds = by_name[brand.vertical].kinds
        chosen.append(rng.sample(kinds, max(2, round(len(kinds) * rng.uniform(0.5, 1.0)))))
    for vertical in _VERTICALS:
        members = [i for i, (b, _) in enumerate(brands) if b.vertical == vertical.name]
        if not members:
            continue
        largest = max(members, key=lambda i: sizes[i])
        for kind in vertical.kinds:
            if all(kind not in chosen[i] for i in members):
                chosen[largest].append(kind)
    return chosen


def demo_network(
    products: int = 20_000, brands: int = 60, seed: int = 7
) -> list[tuple[DemoBrand, list[dict[str, str]]]]:
    """Partner brands and their JSON-lines feed rows; the same arguments always give the same network."""
    if products < 0 or brands < 1:
        raise ValueError("demo_network needs products >= 0 and brands >= 1")
    rng = random.Random(seed)
    roster = _brands(rng, brands)
    sizes = _sizes(rng, products, [brand.vertical for brand, _ in roster])
    assortments = _assortments(rng, roster, sizes)
    closers = {v.name: v.closers for v in _VERTICALS}
    network: list[tuple[DemoBrand, list[dict[str, str]]]] = []
    for (brand, prefix), size, kinds in zip(roster, sizes, assortments, strict=True):
        # A big catalog has more product lines, as real brands do; it also keeps titles unique.
        lines = min(len(_SERIES), max(4, 3 + size // 150))
        shop = _Shop(brand, prefix, lines, rng)
        counts = _allocate([rng.uniform(0.5, 2.0) for _ in kinds], [_variety(k) * lines // 2 for k in kinds], size)
        picks = [kind for kind, count in zip(kinds, counts, strict=True) for _ in range(count)]
        rng.shuffle(picks)
        network.append((brand, [shop.product(kind, closers[brand.vertical]) for kind in picks]))
    return network
