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
    # sign-in, roles, errors (dashboards/auth)
    "login_title": {"vi": "Đăng nhập", "en": "Sign in"},
    "username": {"vi": "Tên đăng nhập", "en": "Username"},
    "password": {"vi": "Mật khẩu", "en": "Password"},
    "sign_in": {"vi": "Đăng nhập", "en": "Sign in"},
    "sign_out": {"vi": "Đăng xuất", "en": "Sign out"},
    "sign_out_ask": {"vi": "Đăng xuất khỏi hệ thống?", "en": "Sign out of the system?"},
    "signed_out": {"vi": "Đã đăng xuất.", "en": "You are signed out."},
    "signed_in_as": {"vi": "Đang đăng nhập:", "en": "Signed in as"},
    "other_lang": {"vi": "English", "en": "Tiếng Việt"},
    "wrong_credentials": {"vi": "Tên đăng nhập hoặc mật khẩu không đúng.",
                          "en": "Wrong username or password."},
    "missing_credentials": {"vi": "Hãy nhập tên đăng nhập và mật khẩu.",
                            "en": "Enter your username and password."},
    "too_many_attempts": {"vi": "Đăng nhập sai quá nhiều lần. Hãy thử lại sau {seconds} giây.",
                          "en": "Too many failed sign-ins. Try again in {seconds} seconds."},
    "form_expired": {"vi": "Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy đăng nhập lại.",
                     "en": "The form expired or is not valid. Please sign in again."},
    "cross_site": {"vi": "Yêu cầu không đến từ trang của hệ thống nên bị từ chối.",
                   "en": "The request did not come from this site's pages and was refused."},
    "forbidden": {"vi": "Tài khoản của bạn không có quyền xem trang này.",
                  "en": "Your account may not open this page."},
    "need_role": {"vi": "Cần vai trò: {roles}.", "en": "Needs the role: {roles}."},
    "other_account": {"vi": "Đăng nhập bằng tài khoản khác", "en": "Sign in with another account"},
    "back_to_wall": {"vi": "Về màn hình điều hành", "en": "Back to the wall"},
    "role_leader": {"vi": "lãnh đạo", "en": "leader"},
    "role_operator": {"vi": "điều hành viên", "en": "operator"},
    "role_admin": {"vi": "quản trị", "en": "administrator"},
    "console_title": {"vi": "Bàn điều hành cảnh báo", "en": "Operator console"},
    "console_soon": {"vi": "Hàng đợi cảnh báo đang được xây dựng.",
                     "en": "The alert queue is being built."},
}


LANGS = ("vi", "en")


def t(key: str, lang: str = "vi") -> str:
    entry = TEXT[key]
    return entry.get(lang) or entry["vi"]


def pick_lang(value: str | None) -> str:
    """A supported language from ``?lang=`` (Vietnamese unless English is asked for)."""
    return value if value in LANGS else "vi"
