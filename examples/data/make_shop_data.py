#!/usr/bin/env python3
"""Writes the generated parts of the sample shop data, deterministically:

  attributes.tsv    id<TAB>brand<TAB>colour<TAB>price: each product's brand
                    (the brand its title starts with, from BRANDS), its colour
                    (the first colour word of its title, else of its
                    description, mapped to a base colour by COLOURS) and an
                    invented price drawn from its category's range
                    (PRICE_RANGES, log-uniform, seeded).
  interactions.tsv  user<TAB>product_id<TAB>rating<TAB>day: star ratings
                    (1-5) of USERS generated users, each with one or two of
                    the TASTES below, plus the eight named users of
                    histories.tsv (a purchase rated 5, a view 4).

How a generated user is made (seed SEED, Python's random):
  - a primary taste; with probability 0.35 a second one;
  - 8 to 30 ratings; each picks the primary taste (0.75) or the second, then
    an item of that taste with Zipf weights 1/rank^0.8 over the taste's items
    in a seeded popularity order, so some items of each taste are much
    more popular than others; with probability 0.08 any catalogue item
    instead (noise);
  - an item of one of the user's tastes is rated 5 (0.55), 4 (0.35) or 3;
    a noise item 1 to 3;
  - days increase along the user's ratings (the last ones are the newest).

A taste is a set of items chosen by rules over category and text, including
items of other categories that such shoppers buy together although their
texts are unrelated (a runner's energy gels and earbuds, a new parent's
coffee): these are what collaborative filtering can find and a content
profile cannot.

Run from the repository root:  python3 examples/data/make_shop_data.py [OUT_DIR]
(OUT_DIR defaults to this folder; tests/tools/test_shop_data.py regenerates
into a temporary folder and compares.)
"""

import csv
import math
import random
import re
import sys
from pathlib import Path

SEED = 20261130
USERS = 3000
HERE = Path(__file__).resolve().parent

BRANDS = [
    "Orla Rae", "Linden & Lark", "Meadowthread", "Fenwick Row", "Northvale", "Little Acorn", "Pacewell",
    "Cragmoor", "Kerbstone", "Solenne", "Driftwood Home", "Aquaverde", "Vellor", "Gridspire", "Quorva",
    "Inkleaf", "Brightnook", "Pulsebud", "Ambrel", "Tidewave", "Copperleaf", "Ironhollow", "Kettleby",
    "Hearthmere", "Claramere", "Petalgrove", "Saltmarsh Apothecary", "Summitfold", "Trailbrook", "Coreline",
    "Brickwell", "Tinker & Twig", "Dozywren", "Snugglenest", "Harbourline Press", "Wrenfield Books",
    "Greenmere Organics", "Hillcrest Pantry", "Moorfield Roasters", "Whiskerly", "Tailwise",
    "素锦", "云裳坊", "青禾", "步云", "声澜", "匠厨", "暖居", "兰泽", "雪柔", "山茗",
]

# word in a title or description -> base colour (longest words first when matching)
COLOURS = {
    "red": "red", "scarlet": "red", "cherry red": "red", "poppy red": "red", "classic red": "red",
    "burgundy": "burgundy", "rust": "orange", "orange": "orange", "yellow": "yellow",
    "sage green": "green", "forest green": "green", "green": "green", "navy": "navy", "sky blue": "blue",
    "blue": "blue", "indigo": "blue", "black": "black", "charcoal": "grey", "grey": "grey", "white": "white",
    "cream": "cream", "stone": "beige", "camel": "beige", "nude": "beige", "tan": "brown", "brown": "brown",
    "pink": "pink", "purple": "purple",
    "正红色": "红色", "酒红色": "红色", "红色": "红色", "白色": "白色", "米白色": "白色", "浅蓝色": "蓝色",
}

PRICE_RANGES = {  # euros, log-uniform
    "Clothing": (12, 140), "Shoes": (15, 170), "Electronics": (9, 900), "Audio": (12, 320),
    "Home & Kitchen": (6, 450), "Beauty": (4, 70), "Sports & Outdoors": (6, 520), "Toys": (6, 95),
    "Baby": (6, 260), "Books": (7, 28), "Groceries": (2, 32), "Pets": (4, 130),
}

# name -> rules; a rule is (categories or None, regex over title + description, or None)
TASTES = {
    "runner": [(["Shoes"], r"running|trainer|socks"), (None, r"running|marathon|pacewell (stride|band)"),
               (["Audio"], r"sport|open-ear|neckband|fit pro"), (["Groceries"], r"electrolyte|protein|energy drink"),
               (["Sports & Outdoors"], r"energy gels|foam roller")],
    "new_parent": [(["Baby"], None), (["Books"], r"baby|sleep|little ones|badger"),
                   (["Groceries"], r"coffee|porridge"), (["Home & Kitchen"], r"espresso|slow cooker|humidifier")],
    "home_cook": [(["Home & Kitchen"], r"pan|knife|skillet|wok|oven|chopping|scale|thermometer|mixer|baking|saucepan|炒锅"),
                  (["Books"], r"kitchen|cook|dinners|pantry|sourdough|菜谱"),
                  (["Groceries"], r"olive oil|spice|paprika|salt|spaghetti|rice")],
    "gamer": [(["Electronics"], r"gaming|keyboard|mouse|monitor|controller|headset|desk mat|wrist rest|键盘"),
              (["Audio"], r"gaming|headset"), (["Groceries"], r"energy drink"), (["Books"], r"video games")],
    "fashion": [(["Clothing"], r"dress|skirt|scarf|swimsuit|连衣裙|旗袍"), (["Shoes"], r"heel|sandal|slingback|高跟"),
                (["Beauty"], r"lipstick|mascara|parfum|nail|口红")],
    "hiker": [(["Sports & Outdoors"], r"tent|sleeping|stove|cook pot|daypack|rucksack|trekking|head torch|filter|compass|帐篷"),
              (["Shoes"], r"hiking|walking|winter boots|trail"), (["Clothing"], r"waterproof|down jacket|fleece|parka"),
              (["Books"], r"camping")],
    "cat_owner": [(["Pets"], r"cat|kitten|whiskerly|猫"), (["Books"], r"cat whisperer")],
    "dog_owner": [(["Pets"], r"dog|puppy|tailwise|狗")],
    "tea_reader": [(["Groceries"], r"tea|matcha|茶"), (["Books"], r"by |novel|小说|stars|lantern|orchard"),
                   (["Home & Kitchen"], r"teapot|mugs|candle|throw|茶具"), (["Electronics"], r"e-reader|folio")],
    "skincare": [(["Beauty"], r"cleanser|moisturiser|serum|sunscreen|cream|lotion|面霜|洗面奶|防晒|面膜|护肤"),
                 (["Books"], r"skin sense")],
    "kids_parent": [(["Toys"], None), (["Books"], r"dinosaur|goodnight|绘本"), (["Clothing"], r"dungarees"),
                    (["Audio"], r"kids")],
    "fitness": [(["Sports & Outdoors"], r"yoga|dumbbell|resistance|foam roller|skipping|kettlebell|瑜伽|速干"),
                (["Groceries"], r"protein|oats|peanut"), (["Books"], r"strength"), (["Electronics"], r"fitness tracker")],
}


def read_catalogue():
    with open(HERE / "catalogue.tsv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def brand_of(title):
    for brand in sorted(BRANDS, key=len, reverse=True):
        if title.startswith(brand + " ") or title.startswith(brand + ":"):
            return brand
    return ""


def colour_of(product):
    """The colour named first in the title (clothes and shoes: else in the
    description); none for books, food and pet supplies, where colour words
    name other things (green tea), nor for cosmetics other than reds."""
    if product["category"] in ("Books", "Groceries", "Pets"):
        return ""
    texts = [product["title"]]
    if product["category"] in ("Clothing", "Shoes"):
        texts.append(product["description"])
    words = sorted(COLOURS, key=len, reverse=True)
    for text in texts:
        low = text.lower()
        for w in words:
            if re.search(r"(?<![a-z])" + re.escape(w) + r"(?![a-z])", low):
                colour = COLOURS[w]
                return colour if product["category"] != "Beauty" or colour in ("red", "红色") else ""
    return ""


def write_attributes(products, rng, out_dir):
    with open(out_dir / "attributes.tsv", "w", encoding="utf-8", newline="") as f:
        f.write("id\tbrand\tcolour\tprice\n")
        for p in products:
            lo, hi = PRICE_RANGES[p["category"]]
            price = math.exp(rng.uniform(math.log(lo), math.log(hi)))
            price = round(price) - 0.01 if price >= 10 else round(price, 1) + 0.09
            f.write(f"{p['id']}\t{brand_of(p['title'])}\t{colour_of(p)}\t{price:.2f}\n")


def taste_items(products):
    out = {}
    for name, rules in TASTES.items():
        chosen = []
        for p in products:
            text = (p["title"] + " " + p["description"]).lower()
            for categories, pattern in rules:
                if (categories is None or p["category"] in categories) and (pattern is None or re.search(pattern, text)):
                    chosen.append(p["id"])
                    break
        out[name] = chosen
    return out


def write_interactions(products, rng, out_dir):
    tastes = taste_items(products)
    for name, items in tastes.items():
        assert len(items) >= 8, (name, len(items))
    ids = [p["id"] for p in products]
    popularity = {name: rng.sample(items, len(items)) for name, items in tastes.items()}
    weights = {name: [1.0 / (r + 1) ** 0.8 for r in range(len(items))] for name, items in popularity.items()}
    names = sorted(TASTES)
    rows = []
    for u in range(1, USERS + 1):
        user = f"u{u:04d}"
        primary = rng.choice(names)
        second = rng.choice([n for n in names if n != primary]) if rng.random() < 0.35 else None
        rated = {}
        for _ in range(rng.randint(8, 30)):
            taste = primary if second is None or rng.random() < 0.75 else second
            if rng.random() < 0.08:
                item = rng.choice(ids)
                in_taste = item in tastes[primary] or (second is not None and item in tastes[second])
            else:
                item = rng.choices(popularity[taste], weights[taste])[0]
                in_taste = True
            if item in rated:
                continue
            if in_taste:
                r = rng.random()
                rating = 5 if r < 0.55 else 4 if r < 0.90 else 3
            else:
                rating = rng.randint(1, 3)
            rated[item] = rating
        for day, (item, rating) in enumerate(rated.items(), start=1):
            rows.append((user, item, rating, day))
    # the named users of histories.tsv, their events as ratings
    with open(HERE / "histories.tsv", encoding="utf-8", newline="") as f:
        named = {}
        for h in csv.DictReader(f, delimiter="\t"):
            key = (h["user"], h["product_id"])
            named[key] = max(named.get(key, 0), 5 if h["event"] == "purchase" else 4)
    days = {}
    for (user, item), rating in named.items():
        days[user] = days.get(user, 0) + 1
        rows.append((user, item, rating, days[user]))
    with open(out_dir / "interactions.tsv", "w", encoding="utf-8", newline="") as f:
        f.write("user\tproduct_id\trating\tday\n")
        for user, item, rating, day in rows:
            f.write(f"{user}\t{item}\t{rating}\t{day}\n")


def main():
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    products = read_catalogue()
    write_attributes(products, random.Random(SEED), out_dir)
    write_interactions(products, random.Random(SEED + 1), out_dir)


if __name__ == "__main__":
    main()
