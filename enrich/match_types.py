"""What the matcher returns (`SubstanceMatch`, `Candidate`, `Analysis`) and what it passes
between its own steps (`Hit`, `Prepared`): plain records, no logic beyond conversion."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from core.records import SubstanceRef
from enrich.normalize import Atom


@dataclass
class SubstanceMatch:
    canonical: str
    substance_class: str
    controls: list[str]
    score: float
    span: tuple[int, int]  # in the ORIGINAL text
    matched_text: str
    reason: str  # exact | synonym | abbreviation | street | cas | fuzzy | hint
    matched_name: str = ""  # the reference name that matched
    cas: str | None = None
    notes: list[str] = field(default_factory=list)
    # offered | mentioned ("no fent", "like Xanax", a guide's subject): kept, not an offer
    relation: str = "offered"
    synonyms: tuple[str, ...] = ()  # the substance's other names in the lists (shared, immutable)
    source: str = "title"  # title | hint (span and matched_text then point into the hint)

    def to_ref(self) -> SubstanceRef:
        return SubstanceRef(
            name=self.canonical,
            substance_class=self.substance_class,
            controls=list(self.controls),
            match_type=self.reason,
            score=self.score,
            matched_text=self.matched_text,
            relation=self.relation,
        )

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["span"] = list(self.span)
        return data


@dataclass
class Hit:
    start: int  # atom index
    end: int  # atom index, exclusive
    canonical: str
    reason: str
    score: float
    name: str
    context_only: bool = False


@dataclass(frozen=True)
class Candidate:
    """A designer-drug-shaped token that names no list substance (early warning)."""

    token: str  # normalised, e.g. "3-cmpvp"
    pattern: str
    span: tuple[int, int]  # in the original text


@dataclass
class Prepared:
    text: str
    norm: str
    offsets: list[int] | None
    atoms: list[Atom]
    hits: list[Hit]
    queries: list[tuple[int, int, str]]  # (start, end, fuzzy string) for uncovered n-grams
    candidates: list[tuple[int, int, str, str]]  # (first atom, end atom, token, pattern)


@dataclass
class Analysis:
    """Everything the matcher read in one text: substances and early-warning candidates."""

    matches: list[SubstanceMatch]
    candidates: list[Candidate]
