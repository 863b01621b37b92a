"""How the wall writes numbers, ages and freshness (Vietnamese first, English on request)."""

from __future__ import annotations

from dashboards.i18n import t


def fmt_int(n: int | float | None, lang: str = "vi") -> str:
    if n is None:
        return "—"
    text = f"{int(round(n)):,}"
    return text.replace(",", ".") if lang == "vi" else text  # Vietnamese thousands separator


def fmt_dec(x: float | None, decimals: int = 1, lang: str = "vi") -> str:
    if x is None:
        return "—"
    text = f"{x:,.{decimals}f}"
    if lang == "vi":  # decimal comma, dot between thousands
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def fmt_rate(r: float | None, lang: str = "vi", decimals: int = 2) -> str:
    if r is None:
        return "—"
    return fmt_dec(r * 100, decimals, lang) + (" %" if lang == "vi" else "%")


def fmt_points(delta: float | None, lang: str = "vi") -> str:
    """A signed change in percentage points / score points, e.g. "−1,25"."""
    if delta is None:
        return "—"
    sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
    return sign + fmt_dec(abs(delta), 2, lang)


def fmt_age(age_s: float | None, lang: str = "vi") -> str:
    """"3 giây" / "2 phút" / "5 giờ"; None: unknown."""
    if age_s is None:
        return t("age_unknown", lang)
    age = max(0, int(age_s))
    if age < 120:
        return t("age_s", lang).format(n=age)
    if age < 7200:
        return t("age_min", lang).format(n=age // 60)
    return t("age_h", lang).format(n=age // 3600)


def is_stale(age_s: float | None, stale_after_s: float) -> bool:
    """No age, or older than the limit: the figure must not look current."""
    return age_s is None or age_s > stale_after_s


def age_badge(age_s: float | None, stale_after_s: float, lang: str = "vi") -> tuple[str, str]:
    """(text, className) of the little age label every figure carries."""
    stale = is_stale(age_s, stale_after_s)
    text = f"{t('age_prefix', lang)} {fmt_age(age_s, lang)}"
    if stale and age_s is not None:
        text += f" — {t('stale', lang)}"
    return text, "age stale" if stale else "age"
