"""The province's e-government systems the operations centre watches, and their metrics.

Metric ids follow Prometheus naming: counters are cumulative and end in ``_total`` (readers
take differences, see :mod:`ioc.services.figures`); latency is a histogram of cumulative
``latency_seconds_bucket`` counters with an ``le`` label, as ``prometheus_client`` exposes it.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Iterable, Literal, Mapping

from pydantic import BaseModel, ConfigDict

MetricKind = Literal["counter", "gauge"]
IncidentKind = Literal["outage", "latency", "flap", "soc_burst"]
# How a system's availability is measured (the default SLI of its SLO):
#   requests  good = requests - errors, total = requests
#   probe     one probe per sample of ``up``: good when up == 1
#   links     commune links: good = links up, total = links, per sample
AvailabilitySli = Literal["requests", "probe", "links"]
# Daily traffic profile, see simulator.load_factor.
Profile = Literal["office", "citizen", "constant", "parking"]

LATENCY_BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SOC_SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")


class MetricSpec(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    kind: MetricKind
    measure: str  # measurement unit
    name_vi: str
    name_en: str
    labels: tuple[str, ...] = ()


class FigureSpec(BaseModel):
    """One figure a declared system's card shows."""

    model_config = ConfigDict(frozen=True)
    metric: str
    name_vi: str
    name_en: str

    @property
    def counter(self) -> bool:
        return is_counter(self.metric)


class SystemSpec(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    name_vi: str
    name_en: str
    metrics: tuple[str, ...]
    sli: AvailabilitySli
    incidents: tuple[IncidentKind, ...]
    profile: Profile
    peak_rps: float = 0.0  # requests per second at the busiest office hour
    latency_median_s: float = 0.0
    # A system declared in the settings (services.systems): the figures its card shows, in order
    # (counters as today's increase, gauges as their latest value); built-in cards know theirs.
    figures: tuple[FigureSpec, ...] = ()
    declared: bool = False


def _m(id: str, kind: MetricKind, measure: str, vi: str, en: str, labels: tuple[str, ...] = ()) -> MetricSpec:
    return MetricSpec(id=id, kind=kind, measure=measure, name_vi=vi, name_en=en, labels=labels)


METRICS: dict[str, MetricSpec] = {m.id: m for m in (
    _m("up", "gauge", "0/1", "Hoạt động", "Up"),
    _m("requests_total", "counter", "requests", "Số yêu cầu", "Requests"),
    _m("errors_total", "counter", "requests", "Số yêu cầu lỗi", "Failed requests"),
    _m("latency_seconds_bucket", "counter", "requests", "Thời gian phản hồi (histogram)",
       "Request latency (histogram)", ("le",)),
    _m("documents_exchanged_total", "counter", "documents", "Văn bản điện tử liên thông",
       "Documents exchanged electronically"),
    _m("documents_signed_total", "counter", "documents", "Văn bản liên thông có ký số",
       "Exchanged documents signed digitally"),
    _m("signatures_total", "counter", "signatures", "Lượt ký số", "Digital signatures"),
    _m("certificates_issued_total", "counter", "certificates", "Chứng thư số đã cấp", "Certificates issued"),
    _m("records_synced_total", "counter", "records", "Hồ sơ đồng bộ lên Cổng DVCQG",
       "Dossiers synced to the national portal"),
    _m("sync_lag_seconds", "gauge", "seconds", "Độ trễ đồng bộ", "Sync lag"),
    _m("link_up", "gauge", "0/1", "Kết nối xã", "Commune link up"),
    _m("communes_connected", "gauge", "communes", "Số xã đang kết nối", "Communes connected"),
    _m("communes_count", "gauge", "communes", "Tổng số xã", "Communes"),
    _m("soc_alerts_total", "counter", "alerts", "Cảnh báo an toàn thông tin", "SOC alerts", ("severity",)),
    # One series per incident the SOC has open (critical or high): 1 while open, 0 when it closes it.
    _m("soc_incident", "gauge", "0/1", "Sự cố an toàn thông tin đang mở", "Open SOC incident",
       ("id", "severity", "category", "asset")),
    _m("spaces_occupied", "gauge", "spaces", "Chỗ đỗ đang sử dụng", "Parking spaces occupied"),
    _m("spaces_capacity", "gauge", "spaces", "Tổng chỗ đỗ", "Parking spaces"),
    # The control room's figures per system (issue #16); ``lot`` names one car park.
    _m("documents_sent_total", "counter", "documents", "Văn bản đi", "Documents sent"),
    _m("documents_received_total", "counter", "documents", "Văn bản đến", "Documents received"),
    _m("agencies_connected", "gauge", "agencies", "Cơ quan đang kết nối", "Agencies connected"),
    _m("agencies_count", "gauge", "agencies", "Tổng số cơ quan", "Agencies"),
    _m("certificates_active", "gauge", "certificates", "Chứng thư số đang hiệu lực", "Certificates active"),
    _m("records_sync_failed_total", "counter", "records", "Hồ sơ đồng bộ lỗi", "Dossiers failing to sync"),
    _m("connectors_count", "gauge", "connectors", "Số kết nối LGSP", "LGSP connectors"),
    _m("connectors_failing", "gauge", "connectors", "Kết nối LGSP đang lỗi", "LGSP connectors failing"),
    _m("payments_total", "counter", "payments", "Giao dịch thanh toán", "Payments"),
    _m("payments_failed_total", "counter", "payments", "Giao dịch thanh toán lỗi", "Failed payments"),
    _m("payments_value_vnd_total", "counter", "VND", "Giá trị thanh toán", "Payment value"),
)}


def is_counter(metric: str) -> bool:
    """Cumulative (readers take differences): by the catalogue, else by Prometheus' naming."""
    spec = METRICS.get(metric)
    return spec.kind == "counter" if spec else metric.endswith(("_total", "_bucket"))

_SERVICE = ("up", "requests_total", "errors_total", "latency_seconds_bucket")
_REQUEST_INCIDENTS: tuple[IncidentKind, ...] = ("outage", "latency")


def _s(id: str, vi: str, en: str, extra: tuple[str, ...] = (), *, sli: AvailabilitySli = "requests",
       incidents: tuple[IncidentKind, ...] = _REQUEST_INCIDENTS, profile: Profile = "office",
       peak_rps: float = 0.0, latency: float = 0.0) -> SystemSpec:
    metrics = (_SERVICE if sli == "requests" else ("up",)) + extra
    return SystemSpec(id=id, name_vi=vi, name_en=en, metrics=metrics, sli=sli, incidents=incidents,
                      profile=profile, peak_rps=peak_rps, latency_median_s=latency)


SYSTEMS: dict[str, SystemSpec] = {s.id: s for s in (
    _s("portal", "Cổng Dịch vụ công trực tuyến tỉnh", "Provincial online public-service portal",
       profile="citizen", peak_rps=40, latency=0.25),
    _s("motcua", "Hệ thống một cửa điện tử", "One-stop-shop system", peak_rps=25, latency=0.3),
    _s("lienthong", "Quản lý văn bản và liên thông văn bản", "Document management and inter-agency exchange",
       ("documents_exchanged_total", "documents_signed_total", "documents_sent_total", "documents_received_total",
        "agencies_connected", "agencies_count"), peak_rps=15, latency=0.35),
    _s("lgsp", "Nền tảng tích hợp, chia sẻ dữ liệu (LGSP)", "Shared data integration platform (LGSP)",
       ("connectors_count", "connectors_failing"), peak_rps=30, latency=0.15),
    _s("dvcqg_sync", "Đồng bộ với Cổng Dịch vụ công quốc gia", "Sync to the national public-service portal",
       ("records_synced_total", "records_sync_failed_total", "sync_lag_seconds"), peak_rps=8, latency=0.6),
    _s("payment", "Cổng thanh toán trực tuyến", "Online payment gateway",
       ("payments_total", "payments_failed_total", "payments_value_vnd_total"), profile="citizen",
       peak_rps=6, latency=0.4),
    _s("chukyso", "Chữ ký số", "Digital signatures",
       ("signatures_total", "certificates_issued_total", "certificates_active"), peak_rps=10, latency=0.2),
    _s("wan", "Mạng truyền số liệu chuyên dùng đến xã", "Wide-area network to the communes",
       ("link_up", "communes_connected", "communes_count"), sli="links", incidents=("outage", "flap"),
       profile="constant"),
    _s("soc", "Trung tâm giám sát an toàn thông tin (SOC)", "Security operations centre (SOC)",
       ("soc_alerts_total",), sli="probe", incidents=("outage", "soc_burst"), profile="constant"),
    _s("parking", "Bãi đỗ xe thông minh", "Smart parking", ("spaces_occupied", "spaces_capacity"),
       profile="parking", peak_rps=4, latency=0.2),
)}


class UnknownSystem(ValueError):
    pass


Catalogue = Mapping[str, SystemSpec]


def system(system_id: str, catalogue: Catalogue | None = None) -> SystemSpec:
    """The catalogue entry (the built-in one by default), or an error listing the valid ids."""
    systems = SYSTEMS if catalogue is None else catalogue
    try:
        return systems[system_id]
    except KeyError:
        raise UnknownSystem(f"unknown system {system_id!r}; valid systems: {', '.join(systems)}") from None


def declared_system(id: str, name_vi: str, name_en: str, kind: AvailabilitySli = "requests",
                    figures: tuple[FigureSpec, ...] = (), profile: Profile = "office", peak_rps: float = 5.0,
                    latency_s: float = 0.3) -> SystemSpec:
    """A system of the settings (services.systems): measured like a built-in one of its ``kind``."""
    spec = _s(id, name_vi, name_en, tuple(f.metric for f in figures), sli=kind,
              incidents=_REQUEST_INCIDENTS if kind == "requests" else ("outage",), profile=profile,
              peak_rps=peak_rps if kind == "requests" else 0.0, latency=latency_s if kind == "requests" else 0.0)
    return spec.model_copy(update={"figures": figures, "declared": True})


def with_declared(declared: Iterable[SystemSpec]) -> dict[str, SystemSpec]:
    """The built-in systems followed by the declared ones (a declared id must be new)."""
    out = dict(SYSTEMS)
    for spec in declared:
        if spec.id in out:
            raise ValueError(f"system {spec.id!r} is built in; choose another id")
        out[spec.id] = spec
    return out


@lru_cache(maxsize=8)
def province_communes(province_code: str, at: date = date(2025, 7, 1)) -> tuple[str, ...]:
    """GSO codes of a province's communes (the WAN reaches each one); reads the reference data."""
    from ioc.reference.units import communes

    return tuple(c.code for c in communes(province_code, at))
