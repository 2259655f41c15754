"""The virtual pet shop: its catalogue, its storefront and its customers.

Ids are Saleor's (base64 of ``Type:number``), so the mirrors, the web-activity triggers and the
messages see the shapes a real Saleor 3.24 gives them.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from decimal import Decimal

SHOP_DOMAIN = "petshop.example"
STOREFRONT = "https://petshop.example"
CHANNEL = {
    "id": "Q2hhbm5lbDox",
    "slug": "default-channel",
    "name": "Channel-USD",
    "currencyCode": "USD",
}
CURRENCY = "USD"


def saleor_id(kind: str, number: int | str) -> str:
    return base64.b64encode(f"{kind}:{number}".encode()).decode()


@dataclass(frozen=True)
class Category:
    number: int
    name: str
    slug: str

    @property
    def id(self) -> str:
        return saleor_id("Category", self.number)


@dataclass(frozen=True)
class Product:
    number: int
    name: str
    slug: str
    category: Category
    price: Decimal
    product_type: str

    @property
    def id(self) -> str:
        return saleor_id("Product", self.number)

    @property
    def variant_id(self) -> str:
        return saleor_id("ProductVariant", self.number + 300)

    @property
    def sku(self) -> str:
        return f"PET-{self.number:04d}"

    @property
    def url(self) -> str:
        return f"{STOREFRONT}/products/{self.slug}"

    @property
    def image(self) -> str:
        return f"{STOREFRONT}/media/{self.slug}.jpg"


DOGS = Category(11, "Dogs", "dogs")
CATS = Category(12, "Cats", "cats")
BIRDS = Category(13, "Birds", "birds")
FISH = Category(14, "Fish", "fish")
CARE = Category(15, "Care", "care")
CATEGORIES = (DOGS, CATS, BIRDS, FISH, CARE)


def _p(number: int, name: str, category: Category, price: str, kind: str) -> Product:
    slug = name.lower().replace(" ", "-").replace("'", "")
    return Product(number, name, slug, category, Decimal(price), kind)


PRODUCTS = (
    _p(101, "Grain-Free Puppy Food", DOGS, "34.90", "Food"),
    _p(102, "Senior Dog Kibble", DOGS, "29.50", "Food"),
    _p(103, "Rope Tug Toy", DOGS, "8.99", "Toy"),
    _p(104, "Orthopedic Dog Bed", DOGS, "79.00", "Accessory"),
    _p(105, "Reflective Leash", DOGS, "17.90", "Accessory"),
    _p(106, "Salmon Cat Food", CATS, "24.90", "Food"),
    _p(107, "Scratching Post", CATS, "45.00", "Accessory"),
    _p(108, "Feather Wand", CATS, "6.50", "Toy"),
    _p(109, "Clumping Cat Litter", CATS, "15.90", "Care"),
    _p(110, "Window Cat Hammock", CATS, "39.90", "Accessory"),
    _p(111, "Canary Seed Mix", BIRDS, "9.90", "Food"),
    _p(112, "Parrot Play Gym", BIRDS, "64.00", "Accessory"),
    _p(113, "Bird Bath", BIRDS, "12.50", "Accessory"),
    _p(114, "Tropical Fish Flakes", FISH, "7.90", "Food"),
    _p(115, "Aquarium Starter Kit", FISH, "119.00", "Accessory"),
    _p(116, "Water Conditioner", FISH, "11.90", "Care"),
    _p(117, "Oatmeal Pet Shampoo", CARE, "13.90", "Care"),
    _p(118, "Flea and Tick Drops", CARE, "27.90", "Care"),
    _p(119, "Dental Chews", CARE, "14.50", "Care"),
    _p(120, "Grooming Brush", CARE, "18.00", "Care"),
)

_FIRST = {
    "en": [
        "Olivia",
        "Liam",
        "Emma",
        "Noah",
        "Ava",
        "Ethan",
        "Mia",
        "Lucas",
        "Grace",
        "Jack",
        "Chloe",
        "Henry",
        "Ruby",
        "Oscar",
        "Isla",
        "Leo",
        "Ella",
        "Max",
        "Zoe",
        "Sam",
    ],
    "es": [
        "Lucía",
        "Mateo",
        "Sofía",
        "Hugo",
        "Martina",
        "Pablo",
        "Valeria",
        "Daniel",
        "Paula",
        "Álvaro",
        "Carmen",
        "Diego",
        "Elena",
        "Javier",
        "Irene",
        "Marcos",
        "Noa",
        "Adrián",
        "Alba",
        "Sergio",
    ],
}
_LAST = {
    "en": [
        "Smith",
        "Johnson",
        "Brown",
        "Taylor",
        "Wilson",
        "Davies",
        "Evans",
        "Walker",
        "Clarke",
        "Hughes",
        "Green",
        "Baker",
        "Hill",
        "Wood",
        "Hall",
    ],
    "es": [
        "García",
        "Martínez",
        "López",
        "Sánchez",
        "Pérez",
        "Gómez",
        "Fernández",
        "Ruiz",
        "Díaz",
        "Moreno",
        "Muñoz",
        "Romero",
        "Navarro",
        "Torres",
        "Vega",
    ],
}
_CITY = {"en": ("US", "AUSTIN", "73301"), "es": ("ES", "MADRID", "28001")}


@dataclass(frozen=True)
class Customer:
    number: int
    first_name: str
    last_name: str
    email: str
    language: str  # "en" or "es"
    phone: str | None
    sms_consent: bool
    email_consent: bool
    pet: Category

    @property
    def user_id(self) -> str:
        return saleor_id("User", 1000 + self.number)

    @property
    def language_code(self) -> str:
        return "ES_ES" if self.language == "es" else "EN_US"

    @property
    def country(self) -> str:
        return _CITY[self.language][0]

    @property
    def city(self) -> tuple[str, str, str]:
        return _CITY[self.language]

    @property
    def visitor_id(self) -> str:
        return f"v_demo{self.number:05d}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def _ascii(text: str) -> str:
    table = str.maketrans("áéíóúÁÉÍÓÚñÑü", "aeiouAEIOUnNu")
    return text.translate(table).lower()


def customers(count: int, rng: random.Random) -> list[Customer]:
    """``count`` customers, about a third Spanish-speaking, a third with a phone (most of them
    agreeing to SMS), most agreeing to marketing email."""
    made = []
    for number in range(1, count + 1):
        language = "es" if rng.random() < 0.35 else "en"
        first = rng.choice(_FIRST[language])
        last = rng.choice(_LAST[language])
        email = f"{_ascii(first)}.{_ascii(last)}.{number}@example.org"
        phone = None
        if rng.random() < 0.35:
            phone = (
                f"+3461{rng.randrange(1000000, 9999999)}"
                if language == "es"
                else f"+1512555{rng.randrange(1000, 9999)}"
            )
        made.append(
            Customer(
                number=number,
                first_name=first,
                last_name=last,
                email=email,
                language=language,
                phone=phone,
                sms_consent=phone is not None and rng.random() < 0.8,
                email_consent=rng.random() < 0.75,
                pet=rng.choice(CATEGORIES[:4]),
            )
        )
    return made


def products_for(pet: Category) -> list[Product]:
    """What a customer with this pet looks at: their pet's aisle, and care for everyone."""
    return [p for p in PRODUCTS if p.category in (pet, CARE)]
