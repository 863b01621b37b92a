"""What to do about each rule: the runbook every notification links to (``/runbooks/<rule>``
on the web, or a URL of the province's own in ``notify.runbooks``). Vietnamese, for the duty
operator; each step is one action."""

from __future__ import annotations

from ioc.alerts.model import AlertKind

RUNBOOKS: dict[str, tuple[str, tuple[str, ...]]] = {
    AlertKind.SYSTEM_DOWN.value: ("Hệ thống ngừng hoạt động", (
        "Mở /api/v1/services hoặc màn hình Hệ thống CNTT: xác nhận hệ thống không phản hồi (up = 0) hay mọi yêu cầu đều lỗi.",
        "Gọi trực kỹ thuật của đơn vị vận hành hệ thống; ghi tên người nhận vào cảnh báo (Giao xử lý).",
        "Kiểm tra kết nối mạng, máy chủ, cân bằng tải và chứng chỉ TLS; khởi động lại dịch vụ nếu cần.",
        "Thông báo trên Cổng nếu người dân bị ảnh hưởng quá 15 phút.",
        "Cảnh báo tự đóng khi hệ thống hoạt động trở lại; ghi chú nguyên nhân trước khi đóng hẳn.",
    )),
    AlertKind.SLO_BURN.value: ("Ngân sách lỗi SLO đang bị tiêu hao nhanh", (
        "Xem tỉ lệ lỗi và độ trễ của hệ thống trên màn hình Hệ thống CNTT (cửa sổ 5 phút và 1 giờ).",
        "Tìm thay đổi gần đây (triển khai, cấu hình, lưu lượng bất thường).",
        "Báo đơn vị vận hành; nếu lỗi tiếp diễn, cân nhắc quay lui phiên bản.",
    )),
    AlertKind.LINK_DOWN.value: ("Mất kết nối mạng WAN đến xã", (
        "Gọi cán bộ CNTT của xã hoặc nhà mạng; kiểm tra nguồn điện và thiết bị đầu cuối.",
        "Các cảnh báo khác của xã đó được tạm ẩn trong lúc mất kết nối.",
    )),
    AlertKind.SOC_ALERT.value: ("Đột biến cảnh báo an toàn thông tin", (
        "Liên hệ ngay Trung tâm giám sát an toàn thông tin (SOC) của tỉnh.",
        "Xem danh sách sự cố SOC đang mở trên bàn điều hành (nhóm Sự cố an toàn thông tin).",
        "Thực hiện quy trình ứng cứu sự cố theo phương án của tỉnh.",
    )),
    AlertKind.SOC_INCIDENT.value: ("Sự cố an toàn thông tin", (
        "Xác nhận với SOC mức độ và tài sản bị ảnh hưởng (ghi trong nội dung cảnh báo).",
        "Cô lập máy hoặc tài khoản bị ảnh hưởng theo hướng dẫn của SOC.",
        "Cảnh báo tự đóng khi SOC đóng sự cố.",
    )),
    AlertKind.CAMERA_HEALTH.value: ("Sự cố camera", (
        "Xem ảnh đính kèm và hình trực tiếp tại /cameras.",
        "Mất kết nối: kiểm tra nguồn và mạng của camera; bị che hoặc xoay: cử người kiểm tra tại chỗ.",
    )),
    AlertKind.DOSSIER_OVERDUE.value: ("Hồ sơ quá hạn", (
        "Mở bàn điều hành, phần tra cứu hồ sơ theo chỉ tiêu: chọn đơn vị và chỉ tiêu Quá hạn.",
        "Đề nghị đơn vị xử lý và gửi văn bản xin lỗi công dân theo quy định.",
    )),
    AlertKind.DOSSIER_AT_RISK.value: ("Hồ sơ sắp đến hạn", (
        "Tra cứu hồ sơ sắp đến hạn của đơn vị; nhắc cán bộ xử lý trước hạn.",
    )),
    AlertKind.BACKLOG_SURGE.value: ("Hồ sơ tồn tăng đột biến", (
        "Kiểm tra hệ thống một cửa và nhân lực tiếp nhận tại đơn vị; điều phối hỗ trợ nếu cần.",
    )),
    AlertKind.PAKN_OVERDUE.value: ("Phản ánh, kiến nghị quá hạn", (
        "Đề nghị đơn vị trả lời công dân ngay và công khai kết quả.",
    )),
    AlertKind.PAKN_NEAR_LIMIT.value: ("Phản ánh, kiến nghị sắp đến hạn", (
        "Nhắc đơn vị trả lời trước hạn.",
    )),
}


def runbook_url(rule: str, base_url: str, overrides: dict[str, str] | None = None) -> str:
    """The runbook of ``rule``: the province's own URL when configured, else the web's page."""
    if overrides and rule in overrides:
        return overrides[rule]
    return f"{base_url.rstrip('/')}/runbooks/{rule}"
