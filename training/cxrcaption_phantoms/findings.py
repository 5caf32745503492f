"""The findings the phantom renderer can draw, and their allowed attributes.

A `Finding` is one abnormality: a kind plus optional side, zone and severity. The renderer draws each
finding and returns one ground-truth mask per finding (see render.py). Kinds are also the label names of
the findings head (see `LABELS`).
"""
from __future__ import annotations

from dataclasses import dataclass, asdict

SIDES = ("right", "left", "bilateral")
ZONES = ("upper", "middle", "lower", "base", "apex", "lingula", "hilum", "diffuse")

# kind -> (allowed severities, whether side matters, whether zone matters)
KINDS: dict[str, tuple[tuple[str, ...], bool, bool]] = {
    "cardiomegaly": (("borderline", "mild", "moderate", "severe"), False, False),
    "pleural_effusion": (("small", "large"), True, False),
    "atelectasis": (("mild", "moderate"), True, True),
    "airspace_opacity": (("mild", "moderate"), True, True),
    "calcified_granuloma": (("single", "multiple"), True, True),
    "nodule": ((), True, True),
    "mass": ((), True, True),
    "hyperinflation": (("mild", "moderate"), False, False),
    "hypoinflation": (("mild", "moderate"), False, False),
    "pneumothorax": (("small", "large"), True, False),
    "tortuous_aorta": (("mild", "moderate"), False, False),
    "aortic_calcification": ((), False, False),
    "degenerative_spine": (("mild", "moderate"), False, False),
    "scoliosis": (("mild", "moderate"), True, False),
    "sternotomy_wires": ((), False, False),
    "pacemaker": ((), True, False),
    "catheter": ((), True, False),
    "elevated_hemidiaphragm": (("mild", "moderate"), True, False),
    "scarring": ((), True, True),
    "congestion": (("mild", "moderate"), False, False),
    "hiatal_hernia": (("small", "large"), False, False),
    "endotracheal_tube": ((), False, False),
}

#: Label names of the findings head, in a fixed order.
LABELS: tuple[str, ...] = tuple(KINDS)


@dataclass(frozen=True)
class Finding:
    kind: str
    side: str | None = None
    zone: str | None = None
    severity: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown finding kind {self.kind!r}; known: {', '.join(KINDS)}")
        severities, _, _ = KINDS[self.kind]
        if self.severity is not None and self.severity not in severities:
            raise ValueError(f"finding {self.kind!r}: severity {self.severity!r} not in {severities}")
        if self.side is not None and self.side not in SIDES:
            raise ValueError(f"finding {self.kind!r}: side {self.side!r} not in {SIDES}")
        if self.zone is not None and self.zone not in ZONES:
            raise ValueError(f"finding {self.kind!r}: zone {self.zone!r} not in {ZONES}")

    @property
    def name(self) -> str:
        """A short unique-ish key: kind[:side][:zone][:severity]."""
        return ":".join(p for p in (self.kind, self.side, self.zone, self.severity) if p)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @staticmethod
    def from_dict(d: dict) -> "Finding":
        return Finding(d["kind"], d.get("side"), d.get("zone"), d.get("severity"))
