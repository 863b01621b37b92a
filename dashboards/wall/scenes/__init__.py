"""The wall's scenes, one module each: ``model(data, lang)`` (plain values the wall diffs) and ``layout(data, lang, model)``."""
