"""UI text: Vietnamese first, English second."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "title": {"vi": "Trung tâm Điều hành, giám sát thông minh", "en": "Smart Operations Centre"},
    "subtitle": {"vi": "Giải quyết thủ tục hành chính — toàn tỉnh", "en": "Administrative procedures — province"},
    "received_today": {"vi": "Tiếp nhận hôm nay", "en": "Received today"},
    "in_processing": {"vi": "Đang giải quyết", "en": "In processing"},
    "due_today": {"vi": "Đến hạn hôm nay", "en": "Due today"},
    "at_risk": {"vi": "Sắp đến hạn", "en": "At risk"},
    "overdue": {"vi": "Quá hạn", "en": "Overdue"},
    "ontime_rate": {"vi": "Tỷ lệ đúng hạn (tháng)", "en": "On-time rate (month)"},
    "finished_today": {"vi": "Giải quyết xong hôm nay", "en": "Finished today"},
    "updated": {"vi": "Cập nhật", "en": "Updated"},
    "stale": {"vi": "dữ liệu chưa cập nhật", "en": "data not updating"},
    "waiting": {"vi": "Đang chờ dữ liệu…", "en": "Waiting for data…"},
    "unit": {"vi": "Đơn vị", "en": "Unit"},
    "trend": {"vi": "Hồ sơ tiếp nhận theo ngày", "en": "Dossiers received per day"},
}


def t(key: str, lang: str = "vi") -> str:
    entry = TEXT[key]
    return entry.get(lang) or entry["vi"]
