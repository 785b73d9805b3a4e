"""The communes the directory covers, their postal codes and which ones share a border.

"Near" in search means the same commune or one that shares a border with it: a person at the
Ixelles kiosk can walk or take one tram to Saint-Gilles, not to Jodoigne. The table covers the
19 communes of the Brussels-Capital Region and the 27 of Brabant wallon; Brussels and Brabant
wallon do not touch (Flemish Brabant lies between), so no border crosses the two lists.
Borders are written once, in one direction, and made symmetric below.

Addresses name a commune, a former commune (Laeken, Limal, Genval) or a postal code; the
``commune()`` function maps any of these to the commune's canonical name.
"""

from __future__ import annotations

from . import text as folding

BRUSSELS = (
    "Anderlecht", "Auderghem", "Berchem-Sainte-Agathe", "Bruxelles", "Etterbeek", "Evere",
    "Forest", "Ganshoren", "Ixelles", "Jette", "Koekelberg", "Molenbeek-Saint-Jean",
    "Saint-Gilles", "Saint-Josse-ten-Noode", "Schaerbeek", "Uccle", "Watermael-Boitsfort",
    "Woluwe-Saint-Lambert", "Woluwe-Saint-Pierre",
)

BRABANT_WALLON = (
    "Beauvechain", "Braine-l'Alleud", "Braine-le-Château", "Chastre", "Chaumont-Gistoux",
    "Court-Saint-Étienne", "Genappe", "Grez-Doiceau", "Hélécine", "Incourt", "Ittre",
    "Jodoigne", "La Hulpe", "Lasne", "Mont-Saint-Guibert", "Nivelles", "Orp-Jauche",
    "Ottignies-Louvain-la-Neuve", "Perwez", "Ramillies", "Rebecq", "Rixensart", "Tubize",
    "Villers-la-Ville", "Walhain", "Waterloo", "Wavre",
)

_BORDERS = {
    # Brussels-Capital Region
    "Anderlecht": ("Bruxelles", "Molenbeek-Saint-Jean", "Saint-Gilles", "Forest"),
    "Auderghem": ("Etterbeek", "Ixelles", "Watermael-Boitsfort", "Woluwe-Saint-Pierre"),
    "Berchem-Sainte-Agathe": ("Koekelberg", "Ganshoren", "Molenbeek-Saint-Jean"),
    "Bruxelles": ("Molenbeek-Saint-Jean", "Koekelberg", "Jette", "Schaerbeek", "Evere",
                  "Saint-Josse-ten-Noode", "Etterbeek", "Ixelles", "Saint-Gilles", "Uccle",
                  "Watermael-Boitsfort"),
    "Etterbeek": ("Ixelles", "Schaerbeek", "Woluwe-Saint-Lambert", "Woluwe-Saint-Pierre"),
    "Evere": ("Schaerbeek", "Woluwe-Saint-Lambert"),
    "Forest": ("Saint-Gilles", "Uccle", "Ixelles"),
    "Ganshoren": ("Jette", "Koekelberg"),
    "Ixelles": ("Saint-Gilles", "Uccle", "Watermael-Boitsfort"),
    "Jette": ("Koekelberg", "Molenbeek-Saint-Jean"),
    "Koekelberg": ("Molenbeek-Saint-Jean",),
    "Saint-Gilles": ("Uccle",),
    "Saint-Josse-ten-Noode": ("Schaerbeek",),
    "Schaerbeek": ("Woluwe-Saint-Lambert",),
    "Uccle": ("Watermael-Boitsfort",),
    "Woluwe-Saint-Lambert": ("Woluwe-Saint-Pierre",),
    # Brabant wallon
    "Beauvechain": ("Grez-Doiceau", "Jodoigne", "Incourt"),
    "Braine-l'Alleud": ("Waterloo", "Lasne", "Genappe", "Nivelles", "Ittre",
                        "Braine-le-Château"),
    "Braine-le-Château": ("Tubize", "Ittre", "Rebecq"),
    "Chastre": ("Villers-la-Ville", "Mont-Saint-Guibert", "Walhain", "Gembloux"),
    "Chaumont-Gistoux": ("Wavre", "Grez-Doiceau", "Ottignies-Louvain-la-Neuve",
                         "Mont-Saint-Guibert", "Walhain", "Incourt"),
    "Court-Saint-Étienne": ("Ottignies-Louvain-la-Neuve", "Lasne", "Genappe",
                            "Villers-la-Ville", "Mont-Saint-Guibert"),
    "Genappe": ("Nivelles", "Lasne", "Villers-la-Ville"),
    "Grez-Doiceau": ("Wavre", "Incourt", "Jodoigne"),
    "Hélécine": ("Jodoigne", "Orp-Jauche"),
    "Incourt": ("Walhain", "Perwez", "Jodoigne"),
    "Ittre": ("Tubize", "Nivelles", "Rebecq"),
    "Jodoigne": ("Perwez", "Ramillies", "Orp-Jauche"),
    "La Hulpe": ("Lasne", "Rixensart", "Waterloo"),
    "Lasne": ("Waterloo", "Rixensart", "Ottignies-Louvain-la-Neuve"),
    "Mont-Saint-Guibert": ("Ottignies-Louvain-la-Neuve", "Walhain", "Villers-la-Ville"),
    "Orp-Jauche": ("Ramillies",),
    "Ottignies-Louvain-la-Neuve": ("Wavre", "Rixensart"),
    "Perwez": ("Walhain", "Ramillies"),
    "Rebecq": ("Tubize",),
    "Rixensart": ("Wavre",),
}

#: Postal code -> commune. Brussels codes follow the communes (1020, 1120 and 1130 are parts of
#: the City of Brussels); Brabant wallon codes include the former communes' own codes.
POSTAL_CODES = {
    "1000": "Bruxelles", "1020": "Bruxelles", "1120": "Bruxelles", "1130": "Bruxelles",
    "1030": "Schaerbeek", "1040": "Etterbeek", "1050": "Ixelles", "1060": "Saint-Gilles",
    "1070": "Anderlecht", "1080": "Molenbeek-Saint-Jean", "1081": "Koekelberg",
    "1082": "Berchem-Sainte-Agathe", "1083": "Ganshoren", "1090": "Jette", "1140": "Evere",
    "1150": "Woluwe-Saint-Pierre", "1160": "Auderghem", "1170": "Watermael-Boitsfort",
    "1180": "Uccle", "1190": "Forest", "1200": "Woluwe-Saint-Lambert",
    "1210": "Saint-Josse-ten-Noode",
    "1300": "Wavre", "1301": "Wavre", "1310": "La Hulpe", "1315": "Incourt",
    "1320": "Beauvechain", "1325": "Chaumont-Gistoux", "1330": "Rixensart", "1331": "Rixensart",
    "1332": "Rixensart", "1340": "Ottignies-Louvain-la-Neuve",
    "1341": "Ottignies-Louvain-la-Neuve", "1342": "Ottignies-Louvain-la-Neuve",
    "1348": "Ottignies-Louvain-la-Neuve", "1350": "Orp-Jauche", "1357": "Hélécine",
    "1360": "Perwez", "1367": "Ramillies", "1370": "Jodoigne", "1380": "Lasne",
    "1390": "Grez-Doiceau", "1400": "Nivelles", "1401": "Nivelles", "1402": "Nivelles",
    "1404": "Nivelles", "1410": "Waterloo", "1420": "Braine-l'Alleud", "1421": "Braine-l'Alleud",
    "1428": "Braine-l'Alleud", "1430": "Rebecq", "1435": "Mont-Saint-Guibert",
    "1440": "Braine-le-Château", "1450": "Chastre", "1457": "Walhain", "1460": "Ittre",
    "1461": "Ittre", "1470": "Genappe", "1471": "Genappe", "1472": "Genappe", "1473": "Genappe",
    "1474": "Genappe", "1476": "Genappe", "1480": "Tubize", "1490": "Court-Saint-Étienne",
    "1495": "Villers-la-Ville",
}

#: Other names people and addresses use: former communes, quarters, Dutch names.
ALIASES = {
    "Bruxelles-Ville": "Bruxelles", "Ville de Bruxelles": "Bruxelles", "Brussel": "Bruxelles",
    "Brussels": "Bruxelles", "Laeken": "Bruxelles", "Laken": "Bruxelles",
    "Neder-Over-Heembeek": "Bruxelles", "Haren": "Bruxelles", "Elsene": "Ixelles",
    "Schaarbeek": "Schaerbeek", "Sint-Gillis": "Saint-Gilles", "Molenbeek": "Molenbeek-Saint-Jean",
    "Sint-Jans-Molenbeek": "Molenbeek-Saint-Jean", "Oudergem": "Auderghem",
    "Sint-Agatha-Berchem": "Berchem-Sainte-Agathe", "Vorst": "Forest", "Ukkel": "Uccle",
    "Watermaal-Bosvoorde": "Watermael-Boitsfort", "Boitsfort": "Watermael-Boitsfort",
    "Sint-Lambrechts-Woluwe": "Woluwe-Saint-Lambert", "Sint-Pieters-Woluwe": "Woluwe-Saint-Pierre",
    "Sint-Joost-ten-Node": "Saint-Josse-ten-Noode", "Saint-Josse": "Saint-Josse-ten-Noode",
    "Anderlecht-Cureghem": "Anderlecht", "Cureghem": "Anderlecht",
    "Ottignies": "Ottignies-Louvain-la-Neuve", "Louvain-la-Neuve": "Ottignies-Louvain-la-Neuve",
    "LLN": "Ottignies-Louvain-la-Neuve", "Limelette": "Ottignies-Louvain-la-Neuve",
    "Céroux-Mousty": "Ottignies-Louvain-la-Neuve", "Limal": "Wavre", "Bierges": "Wavre",
    "Genval": "Rixensart", "Rosières": "Rixensart", "Ophain": "Braine-l'Alleud",
    "Lillois": "Braine-l'Alleud", "Lillois-Witterzée": "Braine-l'Alleud", "Baulers": "Nivelles",
    "Clabecq": "Tubize", "Oisquercq": "Tubize", "Saintes": "Tubize", "Wauthier-Braine":
    "Braine-le-Château", "Ohain": "Lasne", "Plancenoit": "Lasne", "Jodoigne-Souveraine":
    "Jodoigne", "Tourinnes-la-Grosse": "Beauvechain",
    "Tilly": "Villers-la-Ville", "Ways": "Genappe", "Loupoigne": "Genappe",
}

#: Neighbouring communes outside the two regions may appear in the borders above ("Gembloux");
#: they are kept, so "near" stays right for a service just across the provincial border.
COMMUNES = BRUSSELS + BRABANT_WALLON


def fold(text: str) -> str:
    """Lowercase ASCII words, the key names are compared on: "Braine-l'Alleud" and
    "braine l alleud" are the same commune, "St-Gilles" is "Saint-Gilles"."""
    short = {"st": "saint", "ste": "sainte"}
    return " ".join(short.get(w, w) for w in folding.words(text))


_BY_KEY: dict[str, str] = {}
for _name in COMMUNES:
    _BY_KEY[fold(_name)] = _name
for _alias, _name in ALIASES.items():
    _BY_KEY[fold(_alias)] = _name

_NEIGHBOURS: dict[str, set[str]] = {name: set() for name in COMMUNES}
for _name, _others in _BORDERS.items():
    for _other in _others:
        _NEIGHBOURS.setdefault(_name, set()).add(_other)
        _NEIGHBOURS.setdefault(_other, set()).add(_name)


def commune(name: str | None = None, postal_code: str | None = None) -> str | None:
    """The canonical commune for a name, former commune or postal code (None if unknown).

    The postal code wins when both are given: "Bruxelles 1050" is Ixelles.
    """
    if postal_code and str(postal_code).strip() in POSTAL_CODES:
        return POSTAL_CODES[str(postal_code).strip()]
    if name:
        key = fold(name)
        if key in _BY_KEY:
            return _BY_KEY[key]
        if key.isdigit() and key in POSTAL_CODES:
            return POSTAL_CODES[key]
    return None


def neighbours(name: str) -> set[str]:
    """Communes that share a border with ``name`` (empty for an unknown commune)."""
    canonical = commune(name)
    return set(_NEIGHBOURS.get(canonical, ())) if canonical else set()


def near(name: str) -> set[str]:
    """The commune itself and its neighbours: what "near" means in search."""
    canonical = commune(name)
    return {canonical, *neighbours(canonical)} if canonical else set()


def region(name: str) -> str | None:
    canonical = commune(name)
    if canonical in BRUSSELS:
        return "bruxelles"
    if canonical in BRABANT_WALLON:
        return "brabant-wallon"
    return None


def slug(name: str) -> str:
    """A token-safe key for a commune ("Braine-l'Alleud" -> "braine-l-alleud")."""
    return fold(name).replace(" ", "-")


#: Belgian postal codes by range -> region (bpost's numbering follows the provinces).
_POSTAL_REGIONS = ((1000, 1299, "bruxelles"), (1300, 1499, "brabant-wallon"),
                   (1500, 3999, "flandre"), (4000, 7999, "wallonie"), (8000, 9999, "flandre"))
BELGIUM = {"", "BE", "BEL", "BELGIQUE", "BELGIUM", "BELGIË", "BELGIE", "BELGIEN"}


def belgian_place(postal_code: str | None, city: str | None,
                  country: str | None = "BE") -> tuple[str | None, str | None]:
    """(commune, region) of a Belgian address, from its postal code (or city): what an
    imported address is filed under. (None, None) for an address abroad or unknown; a commune
    outside the ones we cover gets its region only."""
    if (country or "").strip().upper() not in BELGIUM:
        return None, None
    code = (postal_code or "").strip()
    known = commune(city, code if code.isdigit() else None)
    if known:
        return known, region(known)
    if len(code) == 4 and code.isdigit():
        number = int(code)
        for low, high, name in _POSTAL_REGIONS:
            if low <= number <= high:
                return None, name
    return None, None
