"""Numbers and shares written the Vietnamese way: «5.000», «169,1», «12,5%»."""
from __future__ import annotations


def number(value: float, decimals: int = 0) -> str:
    """A number with «.» between thousands and «,» before decimals; trailing zero decimals dropped («3» not «3,0»)."""
    text = f"{value:,.{decimals}f}"
    if decimals:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def percent(share: float, decimals: int = 0) -> str:
    """A share 0–1 as a Vietnamese percentage."""
    return f"{number(share * 100, decimals)}%"
