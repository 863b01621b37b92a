"""`ioc import --national-scores FILE` / `--national-report FILE`: what the national portal
publishes, beside our own figures (ioc.kpi.national).

Both files are validated whole first (a bad row: exit 2 naming file, line and column; nothing
published); then every row goes to the compacted national reference topic, where the web follows
it (ioc.broker.reference_feed.NationalView): the wall's scorecard shows the last published score
and rank next to our live projection, and 1.4 takes the report counts as its denominator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ioc.config import Settings
from ioc.kpi.national import NationalReport, read_national_scores


def run(settings: Settings, bootstrap: str, scores: str | None, report: str | None) -> dict[str, Any]:
    from ioc.broker.admin import ensure_topics
    from ioc.broker.keyed import publish_keyed
    from ioc.topics import Topics, topic_specs

    items: list[tuple[str, dict[str, Any]]] = []
    if scores is not None:
        items += [(f"score|{s.province}|{s.period}", {"score": s.score}) for s in read_national_scores(Path(scores))]
    if report is not None:
        items += [(f"report|{unit}|{period}", {"dossiers": n})
                  for (unit, period), n in sorted(NationalReport.read(Path(report)).counts.items())]
    topic = Topics.from_settings(settings.kafka).national
    ensure_topics(bootstrap, {topic: topic_specs(settings.kafka)[topic]}, settings.kafka.replication_factor)
    published = publish_keyed(bootstrap, topic, items, client_id="ioc-import")
    return {"national_scores": sum(k.startswith("score|") for k, _ in items),
            "national_report": sum(k.startswith("report|") for k, _ in items), "published": published, "topic": topic}
