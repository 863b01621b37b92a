"""Words of the public Decision 766 pages, the dossier lookup and their widgets (Vietnamese and
English), and one plain sentence per indicator saying what it measures.

Indicator and group names, the engine's reasons (``missing``) and data-quality flags are the
wall's translations (:mod:`dashboards.wall.scenes.scorecard`, :mod:`dashboards.i18n`), so the public
pages and the wall name things alike."""

from __future__ import annotations

from typing import Any

from dashboards.i18n import TEXT as SHARED
from dashboards.i18n import t as shared_t

TEXT: dict[str, dict[str, str]] = {
    "brand": {"vi": "Trung tâm Điều hành thông minh", "en": "Smart Operations Centre"},
    "title_766": {"vi": "Chỉ số phục vụ người dân, doanh nghiệp (Quyết định 766)",
                  "en": "Service to citizens and businesses (Decision 766 index)"},
    "intro_766": {"vi": "Điểm đánh giá chất lượng giải quyết thủ tục hành chính theo Quyết định 766/QĐ-TTg, "
                        "tính từ dữ liệu hồ sơ của tỉnh bằng cùng công cụ với báo cáo chính thức. Chỉ có số liệu "
                        "tổng hợp, không có thông tin cá nhân.",
                  "en": "Scores of how administrative procedures are handled, under Decision 766/QĐ-TTg, computed "
                        "from the province's dossier records with the same engine as the official report. "
                        "Aggregate figures only, no personal data."},
    "skip": {"vi": "Bỏ qua, đến nội dung chính", "en": "Skip to the main content"},
    "nav": {"vi": "Liên kết", "en": "Links"},
    "other_lang": {"vi": "English", "en": "Tiếng Việt"},
    "lookup_link": {"vi": "Tra cứu hồ sơ", "en": "Look up a dossier"},
    "embeds_link": {"vi": "Nhúng số liệu vào trang web", "en": "Embed figures in a website"},
    "index_link": {"vi": "Chỉ số 766 toàn tỉnh", "en": "Decision 766 index of the province"},
    "period": {"vi": "Kỳ đánh giá", "en": "Period"},
    "months": {"vi": "Tháng", "en": "Months"},
    "quarters": {"vi": "Quý", "en": "Quarters"},
    "years": {"vi": "Năm", "en": "Years"},
    "show": {"vi": "Xem", "en": "Show"},
    "label_month": {"vi": "Tháng {m}/{y}", "en": "{y}-{m}"},
    "label_quarter": {"vi": "Quý {q}/{y}", "en": "Q{q} {y}"},
    "label_year": {"vi": "Năm {y}", "en": "Year {y}"},
    "so_far": {"vi": " (đến nay)", "en": " (to date)"},
    "total": {"vi": "Tổng điểm", "en": "Total score"},
    "computed_points": {"vi": "đã tính {n}/{total} điểm", "en": "{n} of {total} points computed"},
    "band": {"vi": "Xếp loại: {band}", "en": "Rating: {band}"},
    "no_band": {"vi": "Chưa xếp loại: chưa tính đủ 100 điểm", "en": "No rating: not all 100 points are computed"},
    "meta_period": {"vi": "Từ {start} đến hết {end}; số liệu tính đến {at}; tính lúc {computed}.",
                    "en": "From {start} to the end of {end}; figures as at {at}; computed at {computed}."},
    "no_dossier": {"vi": "Không có hồ sơ nào trong kỳ này.", "en": "No dossier in this period."},
    "unit_no_dossier": {"vi": "Đơn vị không có hồ sơ nào trong kỳ này.",
                        "en": "The unit has no dossier in this period."},
    "groups": {"vi": "Điểm theo nhóm", "en": "Score by group"},
    "group": {"vi": "Nhóm", "en": "Group"},
    "score": {"vi": "Điểm", "en": "Score"},
    "of_computed": {"vi": "Tối đa (đã tính)", "en": "Maximum (computed)"},
    "points": {"vi": "Điểm tối đa", "en": "Full points"},
    "indicators": {"vi": "Các chỉ số", "en": "Indicators"},
    "indicator": {"vi": "Chỉ số", "en": "Indicator"},
    "numerator": {"vi": "Tử số", "en": "Numerator"},
    "denominator": {"vi": "Mẫu số", "en": "Denominator"},
    "ratio": {"vi": "Tỷ lệ", "en": "Ratio"},
    "max": {"vi": "Tối đa", "en": "Max"},
    "trend": {"vi": "12 tháng", "en": "12 months"},
    "trend_label": {"vi": "{name}, 12 tháng: {values}", "en": "{name}, 12 months: {values}"},
    "trend_total_label": {"vi": "Tổng điểm 12 tháng: {values}", "en": "Total score, 12 months: {values}"},
    "trend_none": {"vi": "không có", "en": "none"},
    "not_computed": {"vi": "Chưa tính được", "en": "Not computed"},
    "monitor": {"vi": "chỉ theo dõi, không tính điểm", "en": "monitored, not scored"},
    "quality": {"vi": "Ghi chú về chất lượng dữ liệu", "en": "Data-quality notes"},
    "quality_none": {"vi": "Mọi chỉ số đều tính được, không có cảnh báo dữ liệu.",
                     "en": "Every indicator is computed; no data warning."},
    "rankings": {"vi": "Xếp hạng đơn vị", "en": "Unit rankings"},
    "ranking_departments": {"vi": "Sở, ban, ngành", "en": "Departments and agencies"},
    "ranking_communes": {"vi": "Xã, phường", "en": "Communes and wards"},
    "ranking_other": {"vi": "Đơn vị khác", "en": "Other units"},
    "top": {"vi": "{n} đơn vị điểm cao nhất", "en": "Top {n}"},
    "rank": {"vi": "Hạng", "en": "Rank"},
    "rank_of": {"vi": "Hạng {rank}/{n} trong nhóm {group}", "en": "Rank {rank} of {n} among {group}"},
    "unit": {"vi": "Đơn vị", "en": "Unit"},
    "ontime": {"vi": "Đúng hạn (2.1)", "en": "On time (2.1)"},
    "received": {"vi": "Hồ sơ tiếp nhận", "en": "Dossiers received"},
    "units_count": {"vi": "{n} đơn vị", "en": "{n} units"},
    "search": {"vi": "Tìm đơn vị", "en": "Find a unit"},
    "shown": {"vi": "Đang hiện {n}/{total} đơn vị", "en": "Showing {n} of {total} units"},
    "sort_by": {"vi": "Sắp xếp theo {col}", "en": "Sort by {col}"},
    "open_data": {"vi": "Dữ liệu mở", "en": "Open data"},
    "open_data_intro": {"vi": "Mỗi bảng tải được dưới dạng CSV và JSON, kèm kỳ và thời điểm tính.",
                        "en": "Every table as CSV and JSON, with the period and when it was computed."},
    "table_indicators": {"vi": "Chỉ số của {scope}", "en": "Indicators of {scope}"},
    "table_groups": {"vi": "Điểm theo nhóm của {scope}", "en": "Groups of {scope}"},
    "table_units": {"vi": "Tổng điểm và hạng của mọi đơn vị", "en": "Total and rank of every unit"},
    "table_unit-indicators": {"vi": "Mọi chỉ số của mọi đơn vị", "en": "Every indicator of every unit"},
    "table_trend": {"vi": "Xu hướng 12 tháng của {scope}", "en": "12-month trend of {scope}"},
    "embed_intro": {"vi": "Mỗi chỉ số, nhóm, bảng xếp hạng và xu hướng trên trang này đều có tiện ích nhúng "
                          "(iframe) với cùng tham số unit, period, lang, theme:",
                    "en": "Every indicator, group, ranking and trend on this page is also a widget to embed "
                          "(iframe), with the same unit, period, lang and theme parameters:"},
    "back_province": {"vi": "Về trang toàn tỉnh", "en": "Back to the whole province"},
    "explain_title": {"vi": "Chỉ số này đo gì", "en": "What it measures"},
    # the lookup
    "lookup_title": {"vi": "Tra cứu tình trạng hồ sơ", "en": "Look up a dossier's progress"},
    "lookup_intro": {"vi": "Nhập mã hồ sơ in trên giấy tiếp nhận để xem tình trạng giải quyết. Trang này "
                           "không hiển thị tên, địa chỉ hay giấy tờ của người nộp.",
                     "en": "Enter the code printed on the receipt to see how the dossier is progressing. This "
                           "page shows no name, address or document of the applicant."},
    "lookup_code": {"vi": "Mã hồ sơ", "en": "Dossier code"},
    "lookup_submit": {"vi": "Tra cứu", "en": "Look up"},
    "lookup_not_found": {"vi": "Không tìm thấy hồ sơ có mã này, hoặc hồ sơ này không được tra cứu công khai. "
                               "Hãy kiểm tra lại mã trên giấy tiếp nhận.",
                         "en": "No dossier with this code can be shown: it does not exist or is not open to "
                               "public lookup. Check the code on the receipt."},
    "lookup_limit": {"vi": "Mỗi máy được tra cứu tối đa {n} lần mỗi phút.",
                     "en": "Each device may look up at most {n} codes a minute."},
    "lookup_result": {"vi": "Hồ sơ {code}", "en": "Dossier {code}"},
    "l_unit": {"vi": "Nơi giải quyết", "en": "Handled by"},
    "l_state": {"vi": "Tình trạng", "en": "Status"},
    "l_step": {"vi": "Bước hiện tại", "en": "Current step"},
    "l_received": {"vi": "Ngày tiếp nhận", "en": "Received"},
    "l_due": {"vi": "Ngày hẹn trả kết quả", "en": "Appointment for the result"},
    "l_ended": {"vi": "Ngày kết thúc", "en": "Ended"},
    "l_timeliness": {"vi": "Tiến độ", "en": "Timeliness"},
    "l_as_of": {"vi": "Tính đến {time}", "en": "As at {time}"},
    "state_submitted": {"vi": "Đã nộp, chờ tiếp nhận", "en": "Submitted, awaiting reception"},
    "state_refused": {"vi": "Không được tiếp nhận", "en": "Refused at intake"},
    "state_processing": {"vi": "Đang giải quyết", "en": "In processing"},
    "state_finished": {"vi": "Đã có kết quả", "en": "Result ready"},
    "state_returned": {"vi": "Đã trả kết quả", "en": "Result returned"},
    "state_stopped": {"vi": "Dừng xử lý", "en": "Processing stopped"},
    "state_withdrawn": {"vi": "Đã rút hồ sơ", "en": "Withdrawn"},
    "unknown_date": {"vi": "chưa có", "en": "not set"},
    # widgets
    "w_indicator_none": {"vi": "Chưa tính được", "en": "Not computed"},
    "w_of_points": {"vi": "{score} / {max} điểm", "en": "{score} of {max} points"},
    "w_group_detail": {"vi": "đã tính {n}/{points} điểm của nhóm", "en": "{n} of the group's {points} points computed"},
    "w_ranking_title": {"vi": "Xếp hạng {group}", "en": "Ranking: {group}"},
    "w_trend_title": {"vi": "Xu hướng 12 tháng: {name}", "en": "12-month trend: {name}"},
    "w_total_name": {"vi": "Tổng điểm", "en": "Total score"},
    "widget_item": {"vi": "Tiện ích khác", "en": "Other widget"},
    "page_766": {"vi": "Trang Bộ chỉ số 766 đầy đủ", "en": "The full Decision 766 page"},
    "page_lookup": {"vi": "Tra cứu hồ sơ", "en": "Look up a dossier"},
    "item_group": {"vi": "Nhóm {g}", "en": "Group {g}"},
    "item_trend": {"vi": "Xu hướng: {name}", "en": "Trend: {name}"},
    "computing": {"vi": "Đang tính số liệu của kỳ này từ kho dữ liệu. Trang sẽ tự tải lại sau vài giây.",
                  "en": "The figures of this period are being computed from the warehouse. The page reloads "
                        "itself in a few seconds."},
    "period_kind_note": {"vi": "Tham số period: tháng YYYY-MM, quý YYYY-Qn hoặc năm YYYY",
                         "en": "The period parameter: a month YYYY-MM, a quarter YYYY-Qn or a year YYYY"},
}

# What each indicator measures, in one plain sentence (domain.md §2.3, §2.6; ioc.kpi.indicators).
EXPLAIN: dict[str, tuple[str, str]] = {
    "1.1": ("Thủ tục hành chính được công bố đúng hạn: quyết định công bố ban hành trước ngày văn bản quy định "
            "có hiệu lực ít nhất 5 ngày làm việc.",
            "Procedures whose publication decision came at least 5 working days before the rule they "
            "implement took effect."),
    "1.2": ("Thủ tục được cập nhật, công khai trên Cơ sở dữ liệu quốc gia về thủ tục hành chính trong 5 ngày "
            "làm việc kể từ quyết định công bố.",
            "Procedures put on the national procedures database within 5 working days of their publication "
            "decision."),
    "1.3": ("Thủ tục được công khai đủ 7 bộ phận: tên, trình tự, cách thức, thành phần hồ sơ, thời hạn, đối "
            "tượng và cơ quan thực hiện.",
            "Procedures published with all seven parts: name, steps, channels, documents, time limit, who may "
            "apply and the handling agency."),
    "1.4": ("Hồ sơ tiếp nhận trong kỳ đã được đồng bộ lên Cổng Dịch vụ công quốc gia.",
            "Dossiers received in the period that were synchronised to the National Public Service Portal."),
    "2.1": ("Hồ sơ được giải quyết trước hoặc đúng hẹn, kể cả hồ sơ đang giải quyết còn trong hạn, trên tổng "
            "số hồ sơ xử lý trong kỳ.",
            "Dossiers handled early or on time, including those still in processing within their deadline, "
            "out of all dossiers processed in the period."),
    "2.2": ("Số ngày làm việc trung bình để giải quyết xong một hồ sơ; chỉ hiển thị khi chọn một thủ tục.",
            "The average working days taken to finish a dossier; shown only for a single procedure."),
    "3.1": ("Thủ tục được cung cấp dưới dạng dịch vụ công trực tuyến, toàn trình hoặc một phần.",
            "Procedures offered as online public services, fully or partly online."),
    "3.2": ("Dịch vụ công trực tuyến có ít nhất một hồ sơ nộp trực tuyến trong kỳ.",
            "Online services that received at least one online dossier in the period."),
    "3.3": ("Hồ sơ nộp trực tuyến trên tổng số hồ sơ tiếp nhận trong kỳ.",
            "Dossiers submitted online out of all dossiers received in the period."),
    "3.4": ("Hồ sơ nộp trực tuyến toàn trình trên số hồ sơ của các thủ tục đủ điều kiện toàn trình.",
            "Fully online dossiers out of the dossiers of procedures that can be done fully online."),
    "3.5": ("Thủ tục có thu phí, lệ phí đã được tích hợp thanh toán trực tuyến trên Cổng Dịch vụ công quốc gia.",
            "Fee-bearing procedures that can be paid online through the National Public Service Portal."),
    "3.5b": ("Thủ tục có thu phí đã có ít nhất một giao dịch thanh toán trực tuyến trong kỳ.",
             "Fee-bearing procedures with at least one online payment in the period."),
    "3.6": ("Hồ sơ có phí, lệ phí được thanh toán trực tuyến.",
            "Dossiers with fees that were paid online."),
    "4.1": ("Hồ sơ giải quyết xong được cấp kết quả điện tử, với các thủ tục có kết quả bằng giấy.",
            "Finished dossiers given an electronic result, among procedures that issue a paper result."),
    "4.2": ("Hồ sơ được số hóa giấy tờ đầu vào và kết quả giải quyết.",
            "Dossiers whose documents, and result once issued, were digitised."),
    "4.3": ("Hồ sơ dùng lại dữ liệu đã số hóa thay vì yêu cầu nộp lại giấy tờ.",
            "Dossiers that reused already digitised data instead of asking for the papers again."),
    "4.4": ("Hồ sơ số hóa có kết nối, chia sẻ với kho dữ liệu của công dân trên Cổng Dịch vụ công quốc gia.",
            "Digitised dossiers linked to the citizen's data store on the National Public Service Portal."),
    "4.5a": ("Thủ tục dành cho công dân đã có hồ sơ sử dụng Cơ sở dữ liệu quốc gia về dân cư.",
             "Procedures for citizens that have had a dossier using the national population database."),
    "4.5b": ("Hồ sơ sử dụng thông tin từ Cơ sở dữ liệu quốc gia về dân cư hoặc tài khoản định danh điện tử.",
             "Dossiers that used the national population database or an electronic ID account."),
    "4.x": ("Yêu cầu chứng thực bản sao từ bản chính được cấp bản sao điện tử.",
            "Requests for certified copies answered with an electronic certified copy."),
    "5.1": ("Phản ánh, kiến nghị về quy định và thủ tục hành chính trên tổng số phản ánh, kiến nghị; chỉ "
            "theo dõi.",
            "Petitions about regulations and procedures out of all petitions; monitored only."),
    "5.2": ("Phản ánh, kiến nghị được xử lý trong thời hạn quy định.",
            "Petitions handled within their time limit."),
    "5.3": ("Phản ánh, kiến nghị được xử lý đúng hạn, không bị phản ánh lại và không bị đánh giá không hài lòng.",
            "Petitions handled on time, not raised again and not rated unsatisfactory."),
    "5.4": ("Mức hài lòng khi giải quyết thủ tục: 100% trừ tỷ lệ hồ sơ quá hạn và tỷ lệ hồ sơ bị phản ánh "
            "hoặc không hài lòng.",
            "Satisfaction with dossier handling: 100 % minus the overdue rate and the rate of dossiers "
            "complained about or rated unsatisfactory."),
}


def tx(key: str, lang: str, **values: Any) -> str:
    """A text of these pages (or of dashboards.i18n), formatted with ``values``."""
    entry = TEXT.get(key) or SHARED.get(key)
    if entry is None:
        raise KeyError(key)
    text = entry.get(lang) or entry["vi"]
    return text.format(**values) if values else text


def explain(indicator: str, lang: str) -> str:
    pair = EXPLAIN.get(indicator)
    if pair is None:
        return ""
    return pair[0] if lang == "vi" else pair[1]


def status_text(status: int, lang: str) -> str:
    return shared_t(f"dstatus_{status}", lang)


def outcome_text(outcome: str, lang: str) -> str:
    return shared_t(f"outcome_{outcome}", lang)


__all__ = ["EXPLAIN", "TEXT", "explain", "outcome_text", "status_text", "tx"]
